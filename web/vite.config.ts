/**
 * Vite configuration of the web console. The console is a static single-page app built into `web/dist` and served by
 * the Plugboard server at `/`; it talks only to the public REST API on the same origin, so no proxy or base URL is
 * configured here. No CDN or external font is referenced: the build is self-contained and works offline.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // One small bundle; the console has no code-splitting needs.
    chunkSizeWarningLimit: 600,
  },
  logLevel: 'warn',
});
