#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js and what it imports) into CommonJS modules in
// dist/bundle/, which bin/polyarch loads. What a start costs is mostly how many files the
// module loader reads and links, and how much code V8 compiles and runs, so:
//
// - CommonJS, not ES modules: Node 20 loads a CommonJS file synchronously (one read, one
//   compile), an ES module through an asynchronous loader that resolves, reads and links each
//   file and builds an ES module facade for every built-in imported (`import … from 'node:fs'`
//   reads every export of fs, and so loads its streams): 7 ms less for `version`, `ls` and `du`.
// - Rollup chunks the code by the set of entries that reach it and merges chunks under 20 KB
//   where that changes no order of evaluation: a command loads a handful of files, not 30. The
//   entry holds the command tables; each command's implementation is reached by a dynamic
//   import() (a require() in a promise here) and comes when the command runs.
// - Comments and indentation are taken out: V8 reads every byte of a module it loads (the
//   source maps keep the lines for stack traces); names stay as written.
// - undici (half of all the code, reached only through one dynamic import) is bundled apart by
//   esbuild into undici.cjs, loaded when a command first speaks HTTP, its parts as they are
//   used (see undiciUsed).
// - The worker threads of layer compression (compress/pool) get an entry of their own,
//   compress-worker.cjs, found by the pool beside its chunk. zstd-napi is a native addon: it
//   stays in node_modules and is required on first use of zstd.
//
// modules.json lists each output file's modules and imports, for test/unit/cli-startup. The
// per-module output of tsc stays for tests and the library API.
import { rmSync, writeFileSync } from 'node:fs';
import { constants as http2Constants } from 'node:http2';
import { builtinModules } from 'node:module';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { build, transform } from 'esbuild';
import { rollup } from 'rollup';

const repo = new URL('..', import.meta.url).pathname;
const dist = `${repo}dist/`;
const outdir = `${dist}bundle/`;
const builtin = new Set(builtinModules);

/** Comments and indentation out (see above). */
const stripped = {
  name: 'stripped',
  async renderChunk(code) {
    const r = await transform(code, {
      format: 'cjs',
      target: 'node20',
      minifyWhitespace: true,
      legalComments: 'none',
      sourcemap: 'external',
    });
    return { code: r.code, map: r.map };
  },
};

/** `import('undici')` loads ./undici.cjs, bundled apart. */
const undiciApart = {
  name: 'undici-apart',
  resolveId: (id) => (id === 'undici' ? { id: './undici.cjs', external: 'relative' } : null),
};

rmSync(outdir, { recursive: true, force: true });
const bundle = await rollup({
  input: {
    polyarch: `${dist}src/cli/main.js`,
    'compress-worker': `${dist}src/compress/compress-worker.js`,
  },
  external: (id) => builtin.has(id.replace(/^node:/, '')),
  plugins: [undiciApart, nodeResolve({ preferBuiltins: true }), stripped],
  logLevel: 'warn',
  onwarn(warning, warn) {
    // the library's modules import each other in cycles that are safe (no top-level use);
    // @bufbuild/protobuf's compiled helpers read a top-level `this`, which is undefined
    if (warning.code !== 'CIRCULAR_DEPENDENCY' && warning.code !== 'THIS_IS_UNDEFINED') warn(warning);
  },
});
const { output } = await bundle.write({
  dir: outdir,
  format: 'cjs',
  entryFileNames: '[name].cjs',
  chunkFileNames: '[name]-[hash].cjs',
  experimentalMinChunkSize: 20_000,
  // import() of undici.cjs as a require in a promise: the ES module loader is never started
  dynamicImportInCjs: false,
  sourcemap: true,
});
await bundle.close();

const relative = (id) => (id.startsWith(dist) ? id.slice(dist.length) : id.replace(/^\0/, ''));
const files = Object.fromEntries(
  output
    .filter((o) => o.type === 'chunk')
    .map((c) => [
      c.fileName,
      { imports: c.imports, dynamicImports: c.dynamicImports, modules: c.moduleIds.map(relative).sort() },
    ]),
);
writeFileSync(`${outdir}modules.json`, `${JSON.stringify(files, null, 1)}\n`);

/**
 * What polyarch takes of undici, as undici.cjs: its index loads every part of it at once
 * (fetch, cookies, WebSocket, the mock and cache layers: 750 KB to compile and some 25 ms of
 * CPU at every build), while the registry client needs the Agent and the request API only
 * (380 KB). fetch, for ADD of a URL, is the whole index, bundled apart as undici-fetch.cjs and
 * loaded when first asked for (with undici's own dispatcher: polyarch passes it none of its
 * Agents).
 */
const undiciUsed = `
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
Object.assign(Dispatcher.prototype, require('undici/lib/api'));
module.exports = {
  Agent: require('undici/lib/dispatcher/agent'),
  get fetch() {
    return require('./undici-fetch.cjs').fetch;
  },
};
`;
/**
 * undici's HTTP/2 client requires node:http2 at its top for a few constants, and http2 loads
 * tls: some 9 ms of every command that speaks HTTP (a no-change build), though polyarch never
 * asks undici for HTTP/2 (nor needs tls for a plain-HTTP registry). The constants are written
 * in here, from this Node's http2; http2 itself is loaded when undici first opens an HTTP/2
 * session.
 */
const http2Lazily = {
  name: 'http2-lazily',
  setup(b) {
    b.onResolve({ filter: /^node:http2$/ }, () => ({ path: 'http2', namespace: 'http2-lazily' }));
    b.onLoad({ filter: /.*/, namespace: 'http2-lazily' }, () => ({
      loader: 'js',
      contents: `module.exports = {
  constants: ${JSON.stringify(http2Constants)},
  connect: (...args) => process.getBuiltinModule('node:http2').connect(...args),
};`,
    }));
  },
};
const esbuildCjs = {
  bundle: true,
  plugins: [http2Lazily],
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifyWhitespace: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({
  ...esbuildCjs,
  stdin: { contents: undiciUsed, resolveDir: repo, sourcefile: 'undici-used.cjs', loader: 'js' },
  outfile: `${outdir}undici.cjs`,
  external: ['./undici-fetch.cjs'],
});
await build({
  ...esbuildCjs,
  entryPoints: ['undici'],
  absWorkingDir: repo,
  outfile: `${outdir}undici-fetch.cjs`,
});
