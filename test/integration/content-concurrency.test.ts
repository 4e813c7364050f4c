/**
 * The content store shared by several real processes: no lost name updates, a lock whose
 * holder is killed is free again, GC respects other processes' leases and writes in progress,
 * and a killed writer leaves nothing visible.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { acquireLock, lockScopeOf, openContentStore } from '../../src/content/index.js';
import { ensureBaseImages, repoRoot, tempDir } from '../helpers/fixtures.js';
import { runPolyarch } from '../helpers/registries.js';

const contentModule = join(repoRoot, 'dist', 'src', 'content', 'index.js');
const scripts = tempDir('polyarch-conc-scripts-');

/** Starts a node child running `body` (an async function body with `store`, `dir`, `say`). */
function child(
  dir: string,
  body: string,
): { proc: ChildProcess; lines: AsyncIterator<string>; exited: Promise<number | null> } {
  const file = join(scripts, `c${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    file,
    `import * as content from ${JSON.stringify(contentModule)};
const dir = ${JSON.stringify(dir)};
const say = (s) => process.stdout.write(s + '\\n');
const store = await content.openContentStore(dir);
${body}
`,
  );
  const proc = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, lines, exited };
}

async function next(lines: AsyncIterator<string>): Promise<string> {
  const r = await lines.next();
  assert.ok(!r.done, 'the child ended early');
  return r.value;
}

describe('content store across processes', () => {
  test('names set concurrently by six processes are all kept', async () => {
    const dir = join(tempDir('polyarch-conc-'), 'content');
    const kids = Array.from({ length: 6 }, (_, i) =>
      child(
        dir,
        `const d = await store.putBlob(Buffer.from('blob ${i}'), { mediaType: 'application/octet-stream' });
for (let j = 0; j < 15; j++) await store.setName('localhost:5000/p${i}:t' + j, d);
await store.close();`,
      ),
    );
    for (const k of kids) assert.equal(await k.exited, 0);
    const store = await openContentStore(dir);
    const names = await store.listNames();
    assert.equal(names.length, 90);
    assert.deepEqual(await store.check(), { ok: true, problems: [], leftovers: [] });
    await store.close();
  });

  test('a lock whose holder is killed with -9 is free at once', async () => {
    const dir = join(tempDir('polyarch-conc-'), 'content');
    const k = child(
      dir,
      `const l = await content.acquireLock(await content.lockScopeOf(dir), 'content'); say('held'); setInterval(() => {}, 1000);`,
    );
    assert.equal(await next(k.lines), 'held');
    const scope = await lockScopeOf(dir);
    await assert.rejects(
      acquireLock(scope, 'content', { timeoutMs: 200 }),
      /timed out waiting for the content lock of .* \(held by pid \d+\)/,
    );
    k.proc.kill('SIGKILL');
    await k.exited;
    const t = Date.now();
    const lock = await acquireLock(scope, 'content', { timeoutMs: 2000 });
    assert.ok(Date.now() - t < 1000);
    await lock.release();
  });

  test("GC keeps another process's leased blobs and writes in progress, until that process dies", async () => {
    const dir = join(tempDir('polyarch-conc-'), 'content');
    const k = child(
      dir,
      `const lease = await store.createLease();
const d = await store.putBlob(Buffer.from('leased elsewhere'), { mediaType: 'x', lease });
const w = await store.openWriter({ mediaType: 'x' });
await w.write(Buffer.from('half of a blob'));
say(d.digest);
setInterval(() => {}, 1000);`,
    );
    const leased = await next(k.lines);
    const store = await openContentStore(dir);
    const garbage = await store.putBlob(Buffer.from('nobody wants me'), { mediaType: 'x' });
    await store.close();
    const gcer = await openContentStore(dir);
    const r1 = await gcer.gc();
    assert.deepEqual(r1.removed, [garbage.digest]);
    assert.ok(await gcer.has(leased as never));
    assert.equal(
      readdirSync(join(dir, 'ingest')).filter((f) => !f.includes('init')).length,
      1,
      'the live partial write is untouched',
    );
    const live = await gcer.check();
    assert.deepEqual(live, { ok: true, problems: [], leftovers: [] });

    k.proc.kill('SIGKILL');
    await k.exited;
    const dead = await gcer.check();
    assert.equal(dead.ok, true);
    assert.equal(dead.leftovers.length, 2, 'the dead partial write and lease are reported');
    const r2 = await gcer.gc();
    assert.deepEqual(r2.removed, [leased]);
    assert.deepEqual(readdirSync(join(dir, 'ingest')), []);
    assert.deepEqual(readdirSync(join(dir, 'leases')), []);
    assert.equal(existsSync(join(dir, 'index.json')), true);
    await gcer.close();
  });

  test('a writer killed at any point leaves no visible partial blob', async () => {
    const dir = join(tempDir('polyarch-conc-'), 'content');
    for (const delay of [0, 5, 20, 60]) {
      const k = child(
        dir,
        `say('go');
for (let i = 0; ; i++) {
  const data = Buffer.alloc(256 * 1024, i % 251);
  const w = await store.openWriter({ mediaType: 'x' });
  for (let j = 0; j < 8; j++) await w.write(data);
  const d = await w.commit();
  await store.setName('localhost:5000/k:' + i, d);
}`,
      );
      assert.equal(await next(k.lines), 'go');
      await new Promise((r) => setTimeout(r, delay));
      k.proc.kill('SIGKILL');
      await k.exited;
      const store = await openContentStore(dir);
      const c = await store.check();
      assert.deepEqual(c.problems, [], `killed after ${delay} ms`);
      await store.putBlob(Buffer.from(`after ${delay}`), { mediaType: 'x' });
      assert.deepEqual((await store.check()).leftovers, [], 'the next writer removed the dead partial files');
      await store.close();
    }
  });

  test('two processes pulling the same image into one root both succeed', async () => {
    ensureBaseImages();
    const root = tempDir('polyarch-conc-pull-');
    const [a, b] = await Promise.all([
      runPolyarch(['pull', '-q', '--all-platforms', 'localhost:5000/busybox:1.35'], {
        env: { POLYARCH_ROOT: root },
      }),
      runPolyarch(['pull', '-q', '--platform', 'linux/arm/v7', 'localhost:5000/busybox:1.35'], {
        env: { POLYARCH_ROOT: root },
      }),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const store = await openContentStore(join(root, 'content'));
    assert.deepEqual(await store.check(), { ok: true, problems: [], leftovers: [] });
    await store.close();
  });
});
