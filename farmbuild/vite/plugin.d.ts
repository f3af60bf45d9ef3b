// Types of farmbuild's Vite plugin (farmbuild-vite.mjs) and of the events it sends to the browser.
import type { Plugin } from "vite";

export interface FarmbuildOptions {
  /** Path prefixes the dev server forwards to the backend, e.g. "/api". */
  proxy?: string | string[];
  /** Where the backend runs; default: $FARM_BACKEND_URL (set by `farm watch --serve`), else http://127.0.0.1:8000. */
  backendUrl?: string;
  /** The dev token file; default: $FARM_DEV_TOKEN_FILE, else .farm/dev-token in the nearest project above the Vite root. */
  tokenFile?: string;
}

/** What `import.meta.hot.on("farm:update", ...)` receives (also a `farm:update` CustomEvent on window). */
export interface FarmUpdate {
  /** Project-relative sources whose change caused the build. */
  changed: string[];
  /** Project-relative files the build rewrote (only files whose bytes changed). */
  written: string[];
  removed: string[];
  /** Task kinds that ran, e.g. ["schema", "types"]. */
  kinds: string[];
  tasks: { id: string; kind: string; ms: number }[];
  /** The written files inside the Vite root, as URLs ("/src/types/models/catalog.ts"). */
  modules: string[];
}

export interface FarmError {
  errors: { task: string; message: string; file: string | null; line: number | null }[];
}

declare module "vite/types/customEvent.d.ts" {
  interface CustomEventMap {
    "farm:update": FarmUpdate;
    "farm:error": FarmError;
    "farm:clear-error": Record<string, never>;
  }
}

export default function farmbuild(options?: FarmbuildOptions): Plugin;
