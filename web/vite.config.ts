// Builds the web UI into dist/web, which `modelgate serve` serves at `/`. The SDK (src/sdk)
// is bundled in: the UI reaches the server only through it.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
  // `npx vite --config web/vite.config.ts` for UI work against a server on :8080.
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
