/**
 * Ambient types for the console build: Vite's client types (CSS imports, `import.meta.env`).
 */
/// <reference types="vite/client" />
