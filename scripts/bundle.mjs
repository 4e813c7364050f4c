#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js and what it imports, undici included) into
// ES modules under dist/bundle/, which bin/polyarch loads: one file to read and compile
// instead of ~200 saves about 60 ms at every start (the no-change rebuild is measured in
// hundreds of ms). Code reached only by a dynamic import() — undici, half of the bundle — goes
// to a chunk of its own, loaded when a command first speaks HTTP, so that commands which
// never do (version, ls, images, a rebuild that finds everything cached) do not parse it.
// The worker threads of layer compression (compress/pool) get an entry of their own,
// dist/bundle/compress-worker.mjs, found by the pool beside the bundle. zstd-napi is a native
// addon: it stays in node_modules and is required on first use of zstd.
// The per-module output of tsc stays for tests and the library API.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
rmSync(new URL('../dist/polyarch.mjs', import.meta.url).pathname, { force: true });
rmSync(new URL('../dist/polyarch.mjs.map', import.meta.url).pathname, { force: true });
await build({
  entryPoints: {
    polyarch: new URL('../dist/src/cli/main.js', import.meta.url).pathname,
    'compress-worker': new URL('../dist/src/compress/compress-worker.js', import.meta.url).pathname,
  },
  external: ['zstd-napi'],
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  // undici is CommonJS: give the bundle a require for its node: built-ins
  banner: {
    js: "import { createRequire as __polyarchRequire } from 'node:module'; const require = __polyarchRequire(import.meta.url);",
  },
});
