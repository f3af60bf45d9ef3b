import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
// farmbuild's Vite plugin, copied here by `farm build` (do not edit the copy): live updates from
// `farm watch` (the farm:update event, build errors in Vite's overlay) and the /api proxy.
import farmbuild from "./farmbuild-vite.mjs";

// The API runs on uvicorn (apps/api); the browser only talks to Vite, which forwards /api to it
// ($FARM_BACKEND_URL when `farm watch --serve` started both, else http://127.0.0.1:8000).
export default defineConfig({
  // react(): Fast Refresh, so a regenerated types module updates the components that import it in
  // place instead of reloading the page.
  plugins: [react(), farmbuild({ proxy: "/api" })],
  resolve: {
    // Plugin components (../../plugins/*/frontend) import react from this app's node_modules.
    dedupe: ["react", "react-dom"],
  },
  server: {
    fs: {
      // Vite serves files outside its root only from allowed folders: the app and the plugins.
      allow: [".", "../../plugins"],
    },
  },
  build: {
    rolldownOptions: {
      // TanStack Query marks its modules "use client" for React Server Components; a client-only
      // SPA bundle can drop the directive, so the 30 warnings about it are noise.
      checks: { moduleLevelDirective: false },
    },
  },
});
