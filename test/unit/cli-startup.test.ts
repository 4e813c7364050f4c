/**
 * What a start of `bin/polyarch` loads (issue 13: commands that touch no registry within 30 ms
 * of `node -e 0`). Read from the built bundle (dist/bundle, `npm run build`) through the list
 * the bundler writes beside it, modules.json (each file's modules and the files and built-ins
 * it requires at its top): the entry and each command's file with every file they require,
 * which Node loads before any of it runs. The entry and `--help` must load the command tables
 * only, not the library; `version`, `ls`, `images` and `du` must not load the build engine, the
 * HTTP stack or worker threads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rootLayout } from '../../src/content/root.js';
import { openContentStore } from '../../src/content/store.js';
import { MediaTypeImageConfig, MediaTypeImageManifest } from '../../src/oci/mediatypes.js';
import { repoRoot } from '../helpers/fixtures.js';

const bundleDir = join(repoRoot, 'dist', 'bundle');

interface BundleFile {
  /** files of the bundle and built-ins required at its top */
  imports: string[];
  /** files reached by a dynamic import() */
  dynamicImports: string[];
  /** the modules bundled into it: `src/cli/ls.js`, `node_modules/…` */
  modules: string[];
}

let manifest: Record<string, BundleFile> | undefined;
function bundleFiles(): Record<string, BundleFile> {
  manifest ??= JSON.parse(readFileSync(join(bundleDir, 'modules.json'), 'utf8')) as Record<
    string,
    BundleFile
  >;
  return manifest;
}

/** The files one bundle file loads with it (its requires, transitively), and the built-ins. */
function staticClosure(entry: string): { files: string[]; modules: string[]; builtins: string[] } {
  const all = bundleFiles();
  const files = new Set<string>();
  const builtins = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    const f = all[file];
    if (!f) throw new Error(`${file} is not in dist/bundle/modules.json`);
    files.add(file);
    for (const i of f.imports) {
      if (i.startsWith('node:')) builtins.add(i);
      else if (i in all) visit(i);
      else
        throw new Error(`${file} requires ${i}: the bundle should require only its own files and built-ins`);
    }
  };
  visit(entry);
  const modules = [...files].flatMap((f) =>
    all[f]!.modules.flatMap((m) => (/^src\/.*\.js$/.test(m) ? [m.slice(4, -3)] : [])),
  );
  return { files: [...files], modules: [...new Set(modules)].sort(), builtins: [...builtins].sort() };
}

/** The bundle file that holds cli/NAME.ts, which a command's run imports. */
function commandChunk(name: string): string {
  const mine = Object.entries(bundleFiles()).filter(([, f]) => f.modules.includes(`src/cli/${name}.js`));
  assert.equal(mine.length, 1, `one file holds cli/${name}: ${mine.map(([n]) => n).join(', ')}`);
  return mine[0]![0];
}

/** Parts of polyarch no command that touches no registry may load. */
const engine =
  /^(graph\/solver|dockerfile\/|driver\/local\/|driver\/buildkit\/|worker\/worker|fileop\/|context\/)/;
/** Built-ins those commands do not need: HTTP (undici is a chunk of its own), threads. */
const heavyBuiltins = ['node:http', 'node:http2', 'node:tls', 'node:worker_threads'];

describe('start-up loads only what the command uses', () => {
  test('the bundle is built', () => {
    assert.ok(existsSync(join(bundleDir, 'polyarch.cjs')), `run npm run build first: ${bundleDir}`);
  });

  test('the entry loads the command tables and the flag parser, none of the library', () => {
    const { files, modules, builtins } = staticClosure('polyarch.cjs');
    assert.ok(modules.includes('cli/commands/build'), `the tables are in the entry: ${modules.join(' ')}`);
    // the bundler may merge small leaf modules the commands share into the entry's file
    // (platforms, digests, units); the stores, the api and the engine come when a command runs
    const library =
      /^(api\/|registry\/|content\/store|snapshot\/store|builder\/store|cli\/(?!command$|context$|main$|gotime$|output$|commands\/))/;
    assert.deepEqual(
      modules.filter((m) => library.test(m) || engine.test(m)),
      [],
    );
    // built-ins load at first use (node:v8 too: the CLI sets --liftoff-only when undici loads)
    assert.deepEqual(builtins, []);
    const bytes = files.reduce((n, f) => n + statSync(join(bundleDir, f)).size, 0);
    assert.ok(bytes < 64 * 1024, `the entry and its files are ${bytes} bytes`);
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
      assert.ok(!files.includes('undici.cjs'), 'undici stays a file of its own');
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

  for (const name of ['ls', 'images', 'du']) {
    test(`${name} requires no node:fs/promises: the state it reads is small files and directories`, () => {
      // fs/promises brings readline, the fs watchers and streams, which Node compiles at first
      // use; the stores reach it through fs.promises, which loads it when first called
      const { builtins } = staticClosure(commandChunk(name));
      assert.ok(!builtins.includes('node:fs/promises'), builtins.join(' '));
    });
  }

  /** Runs ls, images and du on `store` (created by a du first); says which loaded node:fs/promises. */
  function fsPromisesLoads(root: string, store: string, fill?: () => Promise<void>): Promise<string[]> {
    const probe = join(root, 'probe.cjs');
    writeFileSync(
      probe,
      `const loaded = () => process.moduleLoadList.includes('NativeModule internal/fs/promises');
process.on('exit', () => process.stderr.write('fs/promises loaded: ' + loaded() + '\\n'));
`,
    );
    const run = (name: string) => {
      const r = spawnSync(process.execPath, ['-r', probe, join(repoRoot, 'bin', 'polyarch'), name], {
        env: { ...process.env, POLYARCH_ROOT: store },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      return /fs\/promises loaded: true/.test(r.stderr);
    };
    // the first command creates the store's files (written durably, through fs.promises)
    run('du');
    return (fill ?? (async () => {}))().then(() => ['ls', 'images', 'du'].filter(run));
  }

  test('ls, images and du load no node:fs/promises as they run, on an empty store', async () => {
    const root = mkdtempSync(join(tmpdir(), 'polyarch-startup-'));
    try {
      assert.deepEqual(await fsPromisesLoads(root, join(root, 'store')), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('nor on a store that holds an image (images reads its manifest and config)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'polyarch-startup-'));
    const store = join(root, 'store');
    const fill = async () => {
      const content = await openContentStore(rootLayout(store).content);
      try {
        const config = await content.putBlob(
          Buffer.from(
            JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
          ),
          { mediaType: MediaTypeImageConfig },
        );
        const manifest = { schemaVersion: 2, mediaType: MediaTypeImageManifest, config, layers: [] };
        const desc = await content.putBlob(Buffer.from(JSON.stringify(manifest)), {
          mediaType: MediaTypeImageManifest,
        });
        await content.setName('localhost/startup:probe', desc);
      } finally {
        await content.close();
      }
    };
    try {
      assert.deepEqual(await fsPromisesLoads(root, store, fill), []);
      const images = spawnSync(process.execPath, [join(repoRoot, 'bin', 'polyarch'), 'images'], {
        env: { ...process.env, POLYARCH_ROOT: store },
        encoding: 'utf8',
      });
      assert.match(images.stdout, /localhost\/startup\s+probe/, 'the image is listed');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("undici.cjs is undici's Agent and request API; fetch loads the rest when first asked for", async () => {
    const require = createRequire(import.meta.url);
    const file = join(bundleDir, 'undici.cjs');
    const fetchFile = join(bundleDir, 'undici-fetch.cjs');
    const undici = require(file) as {
      Agent: new () => { request: unknown; close(): Promise<void> };
      fetch: unknown;
    };
    const agent = new undici.Agent();
    try {
      assert.equal(typeof agent.request, 'function', 'the request API is on the Agent');
    } finally {
      await agent.close();
    }
    assert.ok(!(fetchFile in require.cache), 'the rest of undici is not loaded with it');
    assert.equal(typeof undici.fetch, 'function');
    assert.ok(fetchFile in require.cache, 'fetch loads undici-fetch.cjs');
    assert.ok(statSync(file).size < statSync(fetchFile).size * 0.6, 'undici.cjs is the smaller part');
  });

  test('a plain-HTTP request through undici.cjs loads neither http2 nor tls', () => {
    const script = `
      const server = require('node:http').createServer((_q, r) => r.end('ok'));
      server.listen(0, '127.0.0.1', async () => {
        const agent = new (require(${JSON.stringify(join(bundleDir, 'undici.cjs'))}).Agent)();
        const origin = 'http://127.0.0.1:' + server.address().port;
        const res = await agent.request({ origin, path: '/', method: 'GET' });
        const body = await res.body.text();
        await agent.close();
        server.close();
        const loaded = process.moduleLoadList.filter((m) => /^NativeModule (http2|tls)$/.test(m));
        process.stdout.write(JSON.stringify({ body, loaded }));
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { body: 'ok', loaded: [] });
  });

  test('version loads no api module', () => {
    const { modules } = staticClosure(commandChunk('version'));
    assert.deepEqual(
      modules.filter((m) => m.startsWith('api/')),
      [],
    );
  });
});
