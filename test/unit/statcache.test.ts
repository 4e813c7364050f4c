/**
 * The context's stat cache: digests kept across builds by path and stat, in a line file that
 * round-trips any path; entries only trusted while size, mtime, inode and ctime are unchanged,
 * racily clean ones never written, another context's file never read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
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
});
