/**
 * durable — one way to write a file: the target holds the old content or the new, never part
 * of either, also when the writer is killed with SIGKILL in the middle; an exclusive write
 * never replaces what is there; the temporary file goes where the caller says.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFileDurably, writeStreamDurably } from '../../src/durable.js';
import { repoRoot, tempDir } from '../helpers/fixtures.js';

describe('durable writes', () => {
  test('replace, exclusive create, caller-placed temporary file, nothing left behind', async () => {
    const dir = tempDir();
    const path = join(dir, 'f.json');
    await writeFileDurably(path, 'one');
    await writeFileDurably(path, 'two', { mode: 0o600 });
    assert.equal(readFileSync(path, 'utf8'), 'two');
    await assert.rejects(writeFileDurably(path, 'three', { exclusive: true }), { code: 'EEXIST' });
    assert.equal(readFileSync(path, 'utf8'), 'two');
    const tmpDir = tempDir();
    await writeFileDurably(join(dir, 'g'), 'x', { tmp: join(tmpDir, 't1'), exclusive: true });
    await writeStreamDurably(join(dir, 'h'), async (out) => {
      out.write('a');
      out.write('b');
    });
    assert.equal(readFileSync(join(dir, 'h'), 'utf8'), 'ab');
    assert.deepEqual(readdirSync(dir).sort(), ['f.json', 'g', 'h']);
    assert.deepEqual(readdirSync(tmpDir), []);
    await assert.rejects(
      writeStreamDurably(join(dir, 'h'), async () => {
        throw new Error('produce failed');
      }),
      /produce failed/,
    );
    assert.equal(readFileSync(join(dir, 'h'), 'utf8'), 'ab', 'a failed write leaves the old content');
    assert.deepEqual(readdirSync(dir).sort(), ['f.json', 'g', 'h']);
  });

  test('kill -9 while writing: the old content or the new, whole', async () => {
    const dir = tempDir();
    const path = join(dir, 'big');
    const size = 4 << 20;
    writeFileSync(path, Buffer.alloc(size, 'A'));
    const script = `
      const { writeStreamDurably } = await import(${JSON.stringify(join(repoRoot, 'dist/src/durable.js'))});
      const chunk = Buffer.alloc(64 << 10, process.argv[1]);
      for (;;) {
        for (const c of ['B', 'C']) {
          await writeStreamDurably(${JSON.stringify(path)}, async (out) => {
            for (let i = 0; i < ${size} / chunk.length; i++) {
              if (!out.write(Buffer.alloc(chunk.length, c))) await new Promise((r) => out.once('drain', r));
            }
          });
        }
      }`;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, 'B'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 100 + round * 70));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
      const got = readFileSync(path);
      assert.equal(got.length, size, `round ${round}: whole`);
      assert.ok(
        got.every((b) => b === got[0]),
        `round ${round}: one content, not a mix`,
      );
      assert.ok(existsSync(path));
    }
  });
});
