import { defineConfig } from "vite";

// The API runs on uvicorn (apps/api); the browser only talks to Vite, which forwards /api.
export default defineConfig({
  resolve: {
    // Plugin components (../../plugins/*/frontend) import react from this app's node_modules.
    dedupe: ["react", "react-dom"],
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
    },
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
