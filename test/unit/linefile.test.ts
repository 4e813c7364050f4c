/**
 * Line files of paths (context/linefile): the walk order they are kept in, and lines read back
 * whole across the reader's chunks, whatever characters they hold.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  comparePreorder,
  escapePath,
  LineReader,
  LineWriter,
  unescapePath,
} from '../../src/context/linefile.js';

describe('context line files', () => {
  test('walk order: a directory, then its subtree, before the next name', () => {
    const walk = ['/a', '/a/b', '/a/b/c', '/a/c', '/a-b', '/a.txt', '/ab', '/b'];
    const shuffled = [...walk].reverse();
    assert.deepEqual(shuffled.sort(comparePreorder), walk);
    assert.equal(comparePreorder('/a/b', '/a/b'), 0);
  });

  test('walk order compares names by UTF-8 bytes, as Go sorts them', () => {
    // U+FFFD is EF BF BD, U+1F600 is F0 9F 98 80: UTF-16 code units would order them the other way
    assert.ok(comparePreorder('/\uFFFD', '/\u{1F600}') < 0);
    assert.ok(comparePreorder('/d/\u{1F600}', '/d/\uFFFD/x') > 0);
  });

  test('lines come back whole across chunks, multi-byte characters and escapes included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'linefile-'));
    const file = join(dir, 'lines');
    const paths = Array.from({ length: 5000 }, (_, i) => `/dir ü/${'é'.repeat(i % 7)}f${i}\n\\\tx`);
    const w = new LineWriter(file);
    for (const p of paths) w.write(`${p.length}\t${escapePath(p)}`);
    w.close();
    const r = new LineReader(file);
    const back: string[] = [];
    for (let line = r.next(); line !== undefined; line = r.next()) {
      const tab = line.indexOf('\t');
      assert.equal(Number(line.slice(0, tab)), unescapePath(line.slice(tab + 1)).length);
      back.push(unescapePath(line.slice(tab + 1)));
    }
    assert.deepEqual(back, paths);
  });

  test('a last line without a newline is read; a missing file reads as empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'linefile-'));
    writeFileSync(join(dir, 'f'), 'one\ntwo');
    const r = new LineReader(join(dir, 'f'));
    assert.deepEqual([r.next(), r.next(), r.next()], ['one', 'two', undefined]);
    assert.equal(new LineReader(join(dir, 'missing')).next(), undefined);
  });
});
