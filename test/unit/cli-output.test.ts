/**
 * cli/output: standard output and error written straight to the descriptor, the stream built
 * only when a command needs more than a write (issue 13, start-up).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { type BrokenPipe, lazyOutput } from '../../src/cli/output.js';
import { polyarchBin } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'polyarch-output-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stream that collects what is written to it, and a count of how often it was built. */
function counted(): {
  open: () => PassThrough & { isTTY?: boolean };
  text: () => string;
  bytes: () => Buffer;
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
    bytes: () => Buffer.concat(chunks),
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
    await new Promise<void>((resolve, reject) => {
      const late = setTimeout(() => reject(new Error('the callback was not called')), 5000);
      out.write('x', (err) => {
        clearTimeout(late);
        if (err) reject(err);
        else resolve();
      });
    });
    assert.equal(s.text(), 'x');
  });

  test('what a full pipe does not take is written to the stream, after what it took', async () => {
    const path = join(dir, 'full');
    assert.equal(spawnSync('mkfifo', [path]).status, 0, 'mkfifo');
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const s = counted();
    const out = lazyOutput(writer, s.open);
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251)); // more than a pipe holds
    out.write(data);
    await new Promise((r) => setImmediate(r));
    const took: Buffer[] = [];
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      let n = 0;
      try {
        n = readSync(reader, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw err;
      }
      if (n === 0) break;
      took.push(Buffer.from(buf.subarray(0, n)));
    }
    closeSync(reader);
    closeSync(writer);
    const fromPipe = Buffer.concat(took);
    assert.ok(fromPipe.length > 0 && fromPipe.length < data.length, `the pipe took ${fromPipe.length} bytes`);
    assert.equal(s.opens(), 1);
    assert.deepEqual(Buffer.concat([fromPipe, s.bytes()]), data);
  });

  test('what the descriptor refuses is written to the stream instead', async () => {
    const s = counted();
    const out = lazyOutput(99_999, s.open, brokenPipe().pipe); // EBADF, not EPIPE
    out.write('kept\n');
    await new Promise((r) => setImmediate(r));
    assert.equal(s.text(), 'kept\n');
  });
});

/** The write end of a pipe (a FIFO) whose reader has gone: a write to it fails with EPIPE. */
function readerGone(name: string): number {
  const path = join(dir, name);
  assert.equal(spawnSync('mkfifo', [path]).status, 0, 'mkfifo');
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, 'w');
  closeSync(reader);
  return writer;
}

/** A BrokenPipe that counts how often it was told. */
function brokenPipe(): { pipe: BrokenPipe; told: () => number } {
  let told = 0;
  return {
    pipe: {
      get broken() {
        return told > 0;
      },
      break: () => {
        told++;
      },
    },
    told: () => told,
  };
}

describe('lazyOutput on a pipe whose reader has gone', () => {
  test('a plain write tells the BrokenPipe, and it and later writes are dropped', () => {
    const fd = readerGone('plain-epipe');
    const s = counted();
    const b = brokenPipe();
    const out = lazyOutput(fd, s.open, b.pipe);
    assert.equal(out.write('lost\n'), true);
    assert.equal(out.write('lost too\n'), true);
    closeSync(fd);
    assert.equal(b.told(), 1);
    assert.equal(s.opens(), 0, 'the stream was built for a pipe nobody reads');
  });

  test('an output shares the silence of the other one', () => {
    const s = counted();
    const b = brokenPipe();
    const path = join(dir, 'other');
    const fd = openSync(path, 'w');
    const other = lazyOutput(fd, s.open, b.pipe);
    other.write('before\n');
    lazyOutput(readerGone('shared-epipe'), counted().open, b.pipe).write('x');
    assert.equal(other.write('dropped\n'), true);
    closeSync(fd);
    assert.equal(readFileSync(path, 'utf8'), 'before\n');
    assert.equal(s.opens(), 0);
    assert.equal(b.told(), 1);
  });

  test('the stream’s EPIPE tells the BrokenPipe and ends nothing; its other errors still throw', async () => {
    const s = counted();
    const b = brokenPipe();
    const out = lazyOutput(99_999, s.open, b.pipe);
    assert.equal(out.isTTY, false); // builds the stream
    const stream = s.open();
    assert.throws(
      () => stream.emit('error', Object.assign(new Error('write EBADF'), { code: 'EBADF' })),
      /EBADF/,
    );
    assert.equal(b.told(), 0);
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    assert.equal(b.told(), 1);
    let calledBack = false;
    assert.equal(
      out.write('after', () => {
        calledBack = true;
      }),
      true,
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(calledBack, true, 'a dropped write still calls back');
    assert.equal(s.text(), '', 'nothing reached the stream after the pipe broke');
  });
});

describe('bin/polyarch', () => {
  test('a closed stdout ends it quietly with 141, as SIGPIPE ends buildx', async () => {
    const child = spawn(process.execPath, [polyarchBin, 'version'], {
      env: { ...process.env, POLYARCH_ROOT: join(dir, 'root') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader goes before polyarch writes
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const status = await new Promise((r) => child.on('close', r));
    assert.equal(stderr, '');
    assert.equal(status, 141);
  });

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
