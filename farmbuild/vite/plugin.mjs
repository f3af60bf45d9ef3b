// farmbuild's Vite plugin: `farm watch` tells the dev server what each build did.
//
//   import farmbuild from "./farmbuild-vite.mjs";
//   export default defineConfig({ plugins: [farmbuild({ proxy: "/api" })] });
//
// - POST /__farm/event (loopback only, Host checked, header X-Farm-Token = .farm/dev-token):
//   farm sends one JSON document per build (farmbuild/watch/notify.py documents it).
// - Files written: the browser gets the custom event `farm:update` ({changed, written, kinds,
//   tasks, modules}); generated TypeScript itself reaches the page through Vite's own watcher,
//   so no reload is sent for it. A full reload only for files Vite cannot hot-update (publicDir).
// - Build failed: Vite's error overlay shows the first error with its file and line (also to
//   pages opened later); the next good build clears it.
// - `proxy`: path prefixes forwarded to the backend (FARM_BACKEND_URL, which `farm watch --serve`
//   sets, else http://127.0.0.1:8000).

import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const EVENT_PATH = "/__farm/event";
const CLIENT_URL = "/@farmbuild/client.js";
const CLIENT_ID = "\0farmbuild:client";
const MAX_BODY = 4 * 1024 * 1024;
const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

// Runs in the browser (served as a module, so import.meta.hot is Vite's HMR client).
const CLIENT = `
const OVERLAY = "vite-error-overlay";
function farmOverlays() {
  return [...document.querySelectorAll(OVERLAY)].filter((el) => {
    const plugin = el.shadowRoot && el.shadowRoot.querySelector(".plugin");
    return plugin && plugin.textContent.includes("farmbuild");
  });
}
if (import.meta.hot) {
  import.meta.hot.on("farm:update", (data) => {
    window.dispatchEvent(new CustomEvent("farm:update", { detail: data }));
    console.info("[farm] " + data.kinds.join(", ") + ": " + data.written.length + " file(s) written");
  });
  import.meta.hot.on("farm:error", (data) => {
    window.dispatchEvent(new CustomEvent("farm:error", { detail: data }));
    console.error("[farm] build failed: " + (data.errors[0] ? data.errors[0].message : ""));
  });
  import.meta.hot.on("farm:clear-error", () => {
    for (const el of farmOverlays()) el.close();
    window.dispatchEvent(new CustomEvent("farm:clear-error"));
    console.info("[farm] build fixed");
  });
  import.meta.hot.on("vite:ws:connect", () => import.meta.hot.send("farm:hello", {}));
  import.meta.hot.send("farm:hello", {});
}
`;

function findTokenFile(start) {
  if (process.env.FARM_DEV_TOKEN_FILE) return process.env.FARM_DEV_TOKEN_FILE;
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, ".farm", "dev-token");
    if (existsSync(candidate) || existsSync(path.join(dir, "farm.toml"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function readToken(file) {
  try {
    return readFileSync(file, "utf8").trim() || null;
  } catch {
    return null;
  }
}

function sameSecret(a, b) {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

function hostName(header) {
  if (!header) return "";
  if (header.startsWith("[")) return header.slice(0, header.indexOf("]") + 1);
  return header.split(":")[0].toLowerCase();
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function send(res, status, body) {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(body));
}

export default function farmbuild(options = {}) {
  let server = null;
  let viteRoot = process.cwd();
  let publicDir = null;
  let tokenFile = null;
  let lastError = null; // the overlay payload while a build is failing

  function overlayFor(event) {
    const errors = event.errors;
    const first = errors[0];
    const file = first.file ? path.resolve(event.root || viteRoot, first.file) : undefined;
    const others = errors.slice(1).map((e) => e.task);
    const more = others.length ? `\n\n${others.length} more failing: ${others.join(", ")}` : "";
    return {
      message: `${first.message}${more}`,
      stack: "",
      id: file,
      plugin: `farmbuild ${first.task}`,
      loc: file && first.line ? { file, line: first.line, column: 1 } : undefined,
    };
  }

  function apply(event) {
    const errors = Array.isArray(event.errors) ? event.errors : [];
    const written = Array.isArray(event.written) ? event.written : [];
    const removed = Array.isArray(event.removed) ? event.removed : [];
    const root = event.root || viteRoot;
    if (errors.length) {
      lastError = overlayFor({ ...event, errors });
      server.ws.send({ type: "error", err: lastError });
      server.ws.send({ type: "custom", event: "farm:error", data: { errors } });
    } else if (lastError) {
      lastError = null;
      server.ws.send({ type: "custom", event: "farm:clear-error", data: {} });
    }
    if (written.length || removed.length) {
      const absolute = written.map((f) => path.resolve(root, f));
      const modules = absolute.filter((f) => isInside(f, viteRoot)).map((f) => "/" + path.relative(viteRoot, f).split(path.sep).join("/"));
      server.ws.send({
        type: "custom",
        event: "farm:update",
        data: {
          changed: event.changed || [],
          written,
          removed,
          kinds: event.kinds || [],
          tasks: event.tasks || [],
          modules,
        },
      });
      // Vite hot-updates modules it serves; files in publicDir are not modules: reload for them.
      if (publicDir && absolute.some((f) => isInside(f, publicDir))) server.ws.send({ type: "full-reload", path: "*" });
    }
  }

  function handle(req, res) {
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      return send(res, 405, { error: "POST only" });
    }
    if (!LOOPBACK.has(req.socket.remoteAddress) || !LOCAL_HOSTS.has(hostName(req.headers.host))) {
      return send(res, 403, { error: "farmbuild events are accepted from this machine only" });
    }
    const expected = tokenFile ? readToken(tokenFile) : null;
    const given = req.headers["x-farm-token"];
    if (!expected || typeof given !== "string" || !sameSecret(given, expected)) {
      return send(res, 403, { error: "missing or wrong X-Farm-Token (see .farm/dev-token)" });
    }
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        send(res, 413, { error: "event too large" });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      if (res.writableEnded) return;
      let event;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(res, 400, { error: "the body is not JSON" });
      }
      if (!event || typeof event !== "object" || Array.isArray(event)) return send(res, 400, { error: "expected a JSON object" });
      apply(event);
      send(res, 200, { ok: true });
    });
  }

  return {
    name: "farmbuild",
    apply: "serve",
    config() {
      if (!options.proxy) return undefined;
      const target = options.backendUrl || process.env.FARM_BACKEND_URL || "http://127.0.0.1:8000";
      const proxy = {};
      for (const prefix of [].concat(options.proxy)) proxy[prefix] = { target };
      return { server: { proxy } };
    },
    configResolved(config) {
      viteRoot = config.root;
      publicDir = config.publicDir || null;
      tokenFile = options.tokenFile || findTokenFile(config.root);
    },
    configureServer(srv) {
      server = srv;
      srv.middlewares.use(EVENT_PATH, handle);
      srv.ws.on("farm:hello", (_data, client) => {
        if (lastError) client.send({ type: "error", err: lastError });
      });
    },
    resolveId(id) {
      return id === CLIENT_URL ? CLIENT_ID : undefined;
    },
    load(id) {
      return id === CLIENT_ID ? CLIENT : undefined;
    },
    transformIndexHtml() {
      return [{ tag: "script", attrs: { type: "module", src: CLIENT_URL }, injectTo: "head" }];
    },
  };
}
