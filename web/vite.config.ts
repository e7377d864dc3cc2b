import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The web client: built into web/dist, which the server serves at `/` (src/http/web-routes.ts). */
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:3000', ws: true },
    },
  },
});
