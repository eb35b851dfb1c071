// Builds the web app from web/ into web/dist/, which the server serves at `/`.
// Run from the repository root: `npx vite build --config web/vite.config.ts`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed file names under assets/ can be cached forever; index.html must not be.
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    // `npx vite --config web/vite.config.ts` against a server running locally.
    proxy: { '/api': { target: 'https://127.0.0.1:8443', secure: false } },
  },
});
