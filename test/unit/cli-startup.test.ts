/**
 * What a start of `bin/polyarch` loads (issue 13: commands that touch no registry within 30 ms
 * of `node -e 0`). Read from the built bundle (dist/bundle, `npm run build`): the entry and
 * each command's chunk with every file they import statically, which Node loads before any of
 * it runs. The entry and `--help` must load the command tables only, not the library; `version`,
 * `ls`, `images` and `du` must not load the build engine, the HTTP stack or worker threads.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers/fixtures.js';

const bundleDir = join(repoRoot, 'dist', 'bundle');

/** The files one bundle file loads with it (static imports, transitively), and the built-ins. */
function staticClosure(entry: string): { files: string[]; modules: string[]; builtins: string[] } {
  const files = new Set<string>();
  const builtins = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    // statements at the start of a line: `import {…} from "x";`, `import "x";`, `export … from`;
    // a dynamic `import("x")` has a parenthesis and is not matched, nor text inside strings
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;"'(]*?["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) builtins.add(spec);
      else if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else throw new Error(`${file} imports ${spec}: the bundle should import only chunks and built-ins`);
    }
  };
  visit(entry);
  // esbuild heads each bundled module with its path: `// dist/src/cli/ls.js`
  const modules = [...files].flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(/^\/\/ dist\/src\/(\S+)\.js$/gm)].map((m) => m[1]!),
  );
  return { files: [...files], modules: [...new Set(modules)].sort(), builtins: [...builtins].sort() };
}

/**
 * The chunk a command's run imports, cli/NAME.ts: esbuild names it NAME-HASH.mjs (its code may
 * sit in a chunk shared with another command, which it imports).
 */
function commandChunk(name: string): string {
  const dir = join(bundleDir, 'chunks');
  const found = readdirSync(dir).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.mjs'));
  const mine = found.filter((f) => staticClosure(join(dir, f)).modules.includes(`cli/${name}`));
  assert.equal(mine.length, 1, `one chunk for cli/${name} among ${found.join(', ')}`);
  return join(dir, mine[0]!);
}

/** Parts of polyarch no command that touches no registry may load. */
const engine =
  /^(graph\/solver|dockerfile\/|driver\/local\/|driver\/buildkit\/|worker\/worker|fileop\/|context\/)/;
/** Built-ins those commands do not need: HTTP (undici is a chunk of its own), threads. */
const heavyBuiltins = ['node:http', 'node:http2', 'node:tls', 'node:worker_threads'];

describe('start-up loads only what the command uses', () => {
  test('the bundle is built', () => {
    assert.ok(existsSync(join(bundleDir, 'polyarch.mjs')), `run npm run build first: ${bundleDir}`);
  });

  test('the entry loads the command tables and the flag parser, none of the library', () => {
    const { modules, builtins } = staticClosure(join(bundleDir, 'polyarch.mjs'));
    assert.ok(modules.includes('cli/commands/build'), `the tables are in the entry: ${modules.join(' ')}`);
    // what runs the command line; implementations (cli/NAME) and the api come when a command runs
    const startUp = /^(cli\/commands\/|cli\/(command|context|main)$|errors$|goparse$)/;
    assert.deepEqual(
      modules.filter((m) => !startUp.test(m)),
      [],
    );
    // node:module is the bundle's require for undici; node:v8 the CLI's --liftoff-only
    assert.deepEqual(builtins, ['node:module', 'node:v8']);
  });

  for (const name of ['version', 'ls', 'images', 'du']) {
    test(`${name} loads neither the build engine nor HTTP or worker threads`, () => {
      const { modules, builtins, files } = staticClosure(commandChunk(name));
      assert.deepEqual(
        modules.filter((m) => engine.test(m)),
        [],
      );
      assert.deepEqual(
        builtins.filter((b) => heavyBuiltins.includes(b)),
        [],
      );
      assert.ok(!files.some((f) => /\/undici-[^/]*\.mjs$/.test(f)), 'undici stays a chunk of its own');
    });
  }

  for (const name of ['ls', 'images']) {
    test(`${name} loads no crypto, net or child_process: it hashes, locks and spawns nothing`, () => {
      const { builtins } = staticClosure(commandChunk(name));
      assert.deepEqual(
        builtins.filter((b) => ['node:crypto', 'node:net', 'node:child_process', 'node:zlib'].includes(b)),
        [],
      );
    });
  }

  test('version loads no api module', () => {
    const { modules } = staticClosure(commandChunk('version'));
    assert.deepEqual(
      modules.filter((m) => m.startsWith('api/')),
      [],
    );
  });
});
