/**
 * A COPY rebuilt after a few context files changed links the unchanged files from the previous
 * build's layer (fileop/reuse), on real overlayfs and runc: the image is byte for byte the one
 * a cold build of the edited context gives in a fresh root (SOURCE_DATE_EPOCH), the unchanged
 * files really are shared (same inode in both COPY snapshots), and a RUN that changes a copied
 * file changes neither snapshot.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch } from '../helpers/cli.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';

const epoch = '1700000000';
const dockerfile = [
  'FROM localhost:5000/busybox:1.35',
  'COPY . /app',
  'RUN echo changed-by-run >> /app/d0/f1.txt && chmod 600 /app/d0/f2.txt',
  '',
].join('\n');

/** 3 directories of 40 files (one executable, one nested directory each). */
function writeContext(dir: string): void {
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (let d = 0; d < 3; d++) {
    mkdirSync(join(dir, `d${d}`, 'sub'), { recursive: true });
    for (let f = 0; f < 40; f++)
      writeFileSync(join(dir, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(f + 1));
    writeFileSync(join(dir, `d${d}`, 'sub', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  }
}

async function buildDigest(root: string, ctx: string): Promise<string> {
  const r = await polyarch(['build', '-q', '--platform', 'linux/amd64', '-o', 'type=image', ctx], {
    env: { POLYARCH_ROOT: root, SOURCE_DATE_EPOCH: epoch },
  });
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  return r.stdout.trim();
}

/** The layer dirs of the COPY snapshots in `root`, oldest first. */
function copySnapshots(root: string): string[] {
  const dir = join(root, 'snapshots');
  return readdirSync(dir)
    .filter((id) => /^[0-9a-f]{12}$/.test(id))
    .filter((id) => {
      try {
        return lstatSync(join(dir, id, 'copy-record')).isFile();
      } catch {
        return false;
      }
    })
    .map((id) => ({ id, created: JSON.parse(readFileSync(join(dir, id, 'meta.json'), 'utf8')).created }))
    .sort((a, b) => (a.created < b.created ? -1 : 1))
    .map((s) => join(dir, s.id, 'fs'));
}

describe('COPY after an edit links unchanged files from the previous layer', () => {
  const root = tempDir('polyarch-reuse-');
  const ctx = join(tempDir('polyarch-reuse-ctx-'), 'ctx');
  let cold = '';
  let rebuilt = '';

  before(async () => {
    ensureBaseImages();
    mkdirSync(ctx);
    writeContext(ctx);
    cold = await buildDigest(root, ctx);
    // one file edited, one removed, one added
    writeFileSync(join(ctx, 'd0', 'f0.txt'), 'edited\n');
    rmSync(join(ctx, 'd1', 'f5.txt'));
    writeFileSync(join(ctx, 'd2', 'new.txt'), 'new\n');
    rebuilt = await buildDigest(root, ctx);
  });

  test('the rebuilt image equals a cold build of the edited context in a fresh root', async () => {
    assert.match(rebuilt, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(rebuilt, cold, 'the edit changes the image');
    assert.equal(await buildDigest(tempDir('polyarch-reuse-fresh-'), ctx), rebuilt);
  });

  test('unchanged files are shared with the previous snapshot; changed ones are not', () => {
    const snaps = copySnapshots(root);
    assert.equal(snaps.length, 2, `two COPY snapshots in ${root}`);
    const [before, after] = snaps as [string, string];
    const ino = (s: string, p: string) => lstatSync(join(s, 'app', p)).ino;
    assert.equal(ino(after, 'd1/f7.txt'), ino(before, 'd1/f7.txt'), 'an unchanged file is linked');
    assert.equal(ino(after, 'd2/sub/run.sh'), ino(before, 'd2/sub/run.sh'));
    assert.equal(lstatSync(join(after, 'app/d2/sub/run.sh')).mode & 0o7777, 0o755);
    assert.notEqual(ino(after, 'd0/f0.txt'), ino(before, 'd0/f0.txt'), 'the edited file is copied');
    assert.equal(readFileSync(join(after, 'app/d0/f0.txt'), 'utf8'), 'edited\n');
    assert.equal(readFileSync(join(before, 'app/d0/f0.txt'), 'utf8'), 'file 0/0\n');
    assert.throws(() => lstatSync(join(after, 'app/d1/f5.txt')), /ENOENT/, 'the removed file is gone');
    assert.equal(readFileSync(join(after, 'app/d2/new.txt'), 'utf8'), 'new\n');
  });

  test('a RUN that changes a copied file changes neither COPY snapshot', () => {
    for (const s of copySnapshots(root)) {
      assert.equal(readFileSync(join(s, 'app/d0/f1.txt'), 'utf8'), 'file 0/1\n'.repeat(2), s);
      assert.equal(lstatSync(join(s, 'app/d0/f2.txt')).mode & 0o7777, 0o644, s);
    }
  });
});
