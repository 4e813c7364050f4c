/**
 * The context's stat cache: digests kept across builds by path and stat, in a line file that
 * round-trips any path; entries only trusted while size, mtime, inode and ctime are unchanged,
 * racily clean ones never written, another context's file never read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { comparePreorder } from '../../src/context/linefile.js';
import { nowNs, StatCache, type StatKey } from '../../src/context/statcache.js';

const old = (n: number): StatKey => ({
  size: 10 + n,
  mtimeNs: 1_600_000_000_123_456_789n + BigInt(n),
  ctimeNs: 1_600_000_000_223_456_789n,
  ino: BigInt(1000 + n),
});
const hex = (n: number) => n.toString(16).padStart(64, '0');

describe('context stat cache', () => {
  test('saved and read back, whatever the path holds; a changed stat misses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statcache-'));
    const paths = ['a.txt', 'dir/b c.txt', 'back\\slash', 'new\nline', 'tab\there', 'ends\\', 'ünï'];
    const c = await StatCache.open(dir, '/ctx');
    for (const [i, p] of paths.entries()) c.record(p, old(i), hex(i), nowNs());
    await c.save(() => true);
    const again = await StatCache.open(dir, '/ctx');
    for (const [i, p] of paths.entries()) assert.equal(again.lookup(p, old(i)), hex(i), JSON.stringify(p));
    assert.equal(again.lookup('a.txt', { ...old(0), size: 99 }), undefined);
    assert.equal(again.lookup('a.txt', { ...old(0), ctimeNs: 1n }), undefined);
    assert.equal(again.lookup('missing', old(0)), undefined);
  });

  test('files that left the context are dropped; racily clean entries are not written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statcache-'));
    const c = await StatCache.open(dir, '/ctx');
    c.record('kept', old(1), hex(1), nowNs());
    c.record('gone', old(2), hex(2), nowNs());
    const now = nowNs();
    c.record('racy', { ...old(3), mtimeNs: now, ctimeNs: now }, hex(3), now);
    await c.save((p) => p !== 'gone');
    const again = await StatCache.open(dir, '/ctx');
    assert.equal(again.lookup('kept', old(1)), hex(1));
    assert.equal(again.lookup('gone', old(2)), undefined);
    assert.equal(again.lookup('racy', { ...old(3), mtimeNs: now, ctimeNs: now }), undefined);
  });

  test("another context's file or a corrupt one reads as empty", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statcache-'));
    const c = await StatCache.open(dir, '/ctx');
    c.record('a', old(1), hex(1), nowNs());
    await c.save(() => true);
    const [file] = readdirSync(dir);
    const other = await StatCache.open(dir, '/other');
    assert.equal(other.lookup('a', old(1)), undefined);
    writeFileSync(join(dir, file!), '{"version":1}');
    assert.equal((await StatCache.open(dir, '/ctx')).lookup('a', old(1)), undefined);
  });

  test('lookups from walks that interleave, or go back, all hit; the file is kept in walk order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statcache-'));
    const paths = Array.from({ length: 3000 }, (_, i) => `/d${i % 3}/f${String(i).padStart(4, '0')}`);
    const c = await StatCache.open(dir, '/ctx');
    // recorded out of walk order (as several walks or large files do)
    for (const [i, p] of [...paths.entries()].reverse()) c.record(p, old(i), hex(i), nowNs());
    await c.save();
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.stat'));
    const saved = readFileSync(join(dir, file!), 'utf8').trim().split('\n').slice(1);
    assert.deepEqual(
      saved.map((l) => l.slice(l.indexOf('\t') + 1)),
      [...paths].sort(comparePreorder),
    );
    const again = await StatCache.open(dir, '/ctx');
    const sorted = paths.map((p, i) => ({ p, i })).sort((a, b) => comparePreorder(a.p, b.p));
    const half = sorted.length / 2;
    // two walks at once, one over each half, then one from the top again
    for (let k = 0; k < half; k++) {
      for (const { p, i } of [sorted[k]!, sorted[half + k]!])
        assert.equal(again.lookup(p, old(i)), hex(i), p);
    }
    assert.equal(again.lookup(sorted[0]!.p, old(sorted[0]!.i)), hex(sorted[0]!.i));
  });

  test('entries a walk went past are dropped at the next save; others are kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statcache-'));
    const c = await StatCache.open(dir, '/ctx');
    for (const [i, p] of ['/a', '/b', '/c', '/z/x'].entries()) c.record(p, old(i), hex(i), nowNs());
    await c.save();
    const walk = await StatCache.open(dir, '/ctx');
    assert.equal(walk.lookup('/a', old(0)), hex(0));
    assert.equal(walk.lookup('/c', old(2)), hex(2)); // '/b' is no longer in the context
    walk.record('/n', old(9), hex(9), nowNs());
    await walk.save();
    const after = await StatCache.open(dir, '/ctx');
    assert.equal(after.lookup('/a', old(0)), hex(0));
    assert.equal(after.lookup('/b', old(1)), undefined, 'passed over: dropped');
    assert.equal(after.lookup('/c', old(2)), hex(2));
    assert.equal(after.lookup('/n', old(9)), hex(9));
    assert.equal(after.lookup('/z/x', old(3)), hex(3), 'never reached: kept');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.journal')),
      [],
      'no journal left behind',
    );
  });

  test("a killed build's journal is removed by the next open; a running one's is kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statcache-'));
    const c = await StatCache.open(dir, '/ctx');
    c.record('/a', old(1), hex(1), nowNs());
    await c.save();
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.stat'));
    const dead = `${file}.999999999-0badcafe.journal`; // beyond Linux's pid_max
    const alive = `${file}.${process.pid}-0badcafe.journal`;
    writeFileSync(join(dir, dead), '');
    writeFileSync(join(dir, alive), '');
    const again = await StatCache.open(dir, '/ctx');
    assert.equal(again.lookup('/a', old(1)), hex(1));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.journal')),
      [alive],
    );
  });
});
