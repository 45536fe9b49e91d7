/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react'
import { defineConfig, loadEnv } from 'vite'

// The dev server proxies the wallet API so the page and the API share an origin,
// as they do when the wallet serves frontend/dist itself.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '')
  const target = process.env.VITE_API_TARGET ?? env.VITE_API_TARGET ?? 'http://127.0.0.1:8000'
  const api = { target, changeOrigin: true }
  return {
    base: '/',
    plugins: [react()],
    build: {
      outDir: 'dist',
      assetsDir: 'assets',
      emptyOutDir: true,
    },
    server: {
      proxy: {
        '/wallet': api,
        '/ws': { ...api, ws: true },
        '/healthz': api,
        '/openapi.json': api,
        '/docs': api,
      },
    },
    test: {
      environment: 'node',
      include: ['src/**/*.test.ts'],
    },
  }
})
