import { defineConfig } from "vite";

// The API runs on uvicorn (apps/api); the browser only talks to Vite, which forwards /api.
export default defineConfig({
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
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
