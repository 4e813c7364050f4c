#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js and what it imports, undici included) into
// one ES module, dist/polyarch.mjs, which bin/polyarch loads: one file to read and compile
// instead of ~200 saves about 60 ms at every start (the no-change rebuild is measured in
// hundreds of ms). The per-module output of tsc stays for tests and the library API.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../dist/src/cli/main.js', import.meta.url).pathname],
  outfile: new URL('../dist/polyarch.mjs', import.meta.url).pathname,
  bundle: true,
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
