/**
 * cli/output: standard output and error written straight to the descriptor, the stream built
 * only when a command needs more than a write (issue 13, start-up).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { lazyOutput } from '../../src/cli/output.js';
import { polyarchBin } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'polyarch-output-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stream that collects what is written to it, and a count of how often it was built. */
function counted(): {
  open: () => PassThrough & { isTTY?: boolean };
  text: () => string;
  opens: () => number;
} {
  const chunks: Buffer[] = [];
  let opens = 0;
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c));
  return {
    open: () => {
      opens++;
      return Object.assign(stream, { isTTY: false });
    },
    text: () => Buffer.concat(chunks).toString(),
    opens: () => opens,
  };
}

describe('lazyOutput', () => {
  test('writes strings and bytes to the descriptor without building the stream', () => {
    const path = join(dir, 'plain');
    const fd = openSync(path, 'w');
    const s = counted();
    const out = lazyOutput(fd, s.open);
    assert.equal(out.write('héllo '), true);
    assert.equal(out.write(new TextEncoder().encode('world\n')), true);
    closeSync(fd);
    assert.equal(readFileSync(path, 'utf8'), 'héllo world\n');
    assert.equal(s.opens(), 0);
  });

  test('anything but a plain write builds the stream once, and later writes go to it', async () => {
    const path = join(dir, 'switch');
    const fd = openSync(path, 'w');
    const s = counted();
    const out = lazyOutput(fd, s.open);
    out.write('before\n');
    assert.equal(out.isTTY, false);
    out.write('after\n');
    let called = false;
    out.once('custom', () => {
      called = true;
    });
    out.emit('custom');
    closeSync(fd);
    await new Promise((r) => setImmediate(r));
    assert.equal(readFileSync(path, 'utf8'), 'before\n');
    assert.equal(s.text(), 'after\n');
    assert.equal(called, true);
    assert.equal(s.opens(), 1);
  });

  test('a write with a callback is the stream’s, which calls it back', async () => {
    const s = counted();
    const out = lazyOutput(99_999, s.open); // a descriptor no write could reach
    await new Promise<void>((resolve, reject) => out.write('x', (err) => (err ? reject(err) : resolve())));
    assert.equal(s.text(), 'x');
  });

  test('what the descriptor refuses is written to the stream instead', async () => {
    const s = counted();
    const out = lazyOutput(99_999, s.open); // EBADF

    out.write('kept\n');
    await new Promise((r) => setImmediate(r));
    assert.equal(s.text(), 'kept\n');
  });
});

describe('bin/polyarch', () => {
  test('`version` and `ls` load no stream module, and their output reaches a pipe', () => {
    const probe = join(dir, 'modules.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => require('node:fs').writeSync(2, '\\n' + process.moduleLoadList.join('\\n') + '\\n'));\n",
    );
    for (const [args, expect] of [
      [['version'], /^polyarch \S+ node v/],
      [['ls'], /^NAME\/NODE\s+DRIVER\/ENDPOINT/],
    ] as const) {
      const r = spawnSync(process.execPath, ['-r', probe, polyarchBin, ...args], {
        env: { ...process.env, POLYARCH_ROOT: join(dir, 'root') },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, expect);
      const streams = r.stderr
        .split('\n')
        .filter((m) => /^NativeModule (stream|net|internal\/streams\/(readable|writable|duplex))$/.test(m));
      assert.deepEqual(streams, [], `polyarch ${args.join(' ')} loaded ${streams.join(', ')}`);
    }
  });
});
