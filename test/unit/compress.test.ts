import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type CompressionSpec,
  CompressPool,
  createDecoder,
  InThreadCompressor,
  type LayerTally,
} from '../../src/compress/index.js';
import { upperDirEntries } from '../../src/snapshot/index.js';
import { writeTar } from '../../src/tar/index.js';

/** A sink that keeps what it is given (and can be told to fail after some bytes). */
function collector(failAfter?: number): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  let n = 0;
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      n += c.length;
      if (failAfter !== undefined && n > failAfter) return cb(new Error('disk full (test)'));
      parts.push(c);
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(parts) };
}

async function* chunks(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function decompress(type: 'gzip' | 'zstd', b: Buffer): Promise<Buffer> {
  const d = createDecoder(type);
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve, reject) => d.on('end', resolve).on('error', reject));
  d.end(b);
  await done;
  return Buffer.concat(out);
}

async function run(
  c: { compress: InThreadCompressor['compress'] },
  tar: Buffer,
  spec: CompressionSpec,
  chunk = 64 * 1024,
): Promise<{ t: LayerTally; bytes: Buffer }> {
  const { sink, bytes } = collector();
  const t = await c.compress(chunks(tar, chunk), spec, sink);
  return { t, bytes: bytes() };
}

describe('layer compression in worker threads', () => {
  let tar: Buffer;
  // every layer to a worker, however small (see the small-layer test for the default)
  const pool = new CompressPool({ size: 2, smallLayerBytes: 0 });
  before(async () => {
    // a real layer tar: the compiled sources of polyarch, as a diff writes them
    const dir = fileURLToPath(new URL('../../src/', import.meta.url));
    const parts: Buffer[] = [];
    for await (const c of writeTar(upperDirEntries(dir, { sourceDateEpoch: 0 }))) parts.push(c);
    tar = Buffer.concat(parts);
    assert.ok(tar.length > 1 << 20, `the test tar is ${tar.length} bytes`);
  });
  after(() => pool.close());

  for (const spec of [
    { type: 'gzip', level: 1 },
    { type: 'gzip', level: 6 },
    { type: 'zstd' },
    { type: 'zstd', level: 9 },
    { type: 'uncompressed' },
  ] satisfies CompressionSpec[]) {
    test(`${spec.type} ${spec.level ?? ''}: the same bytes as in this thread, and the tallies are true`, async () => {
      const local = await run(new InThreadCompressor(), tar, spec);
      // other chunk boundaries on the way in must not change the bytes
      const pooled = await run(pool, tar, spec, 100_003);
      assert.ok(pooled.bytes.equals(local.bytes), 'worker bytes differ from in-thread bytes');
      assert.deepEqual(pooled.t, local.t);
      assert.equal(pooled.t.diffID, sha(tar));
      assert.equal(pooled.t.digest, sha(pooled.bytes));
      assert.equal(pooled.t.size, pooled.bytes.length);
      if (spec.type === 'uncompressed') assert.ok(pooled.bytes.equals(tar));
      else {
        assert.ok(pooled.bytes.length < tar.length / 2, `${spec.type} did not compress`);
        assert.ok((await decompress(spec.type, pooled.bytes)).equals(tar));
      }
    });
  }

  test('more layers than workers: every job completes, on at most `size` threads', async () => {
    const before = pool.jobs;
    const specs: CompressionSpec[] = [
      { type: 'gzip' },
      { type: 'zstd' },
      { type: 'gzip', level: 9 },
      { type: 'zstd' },
    ];
    const got = await Promise.all(specs.map((s) => run(pool, tar.subarray(0, 512 * 1024), s)));
    for (const g of got) assert.equal(g.t.diffID, sha(tar.subarray(0, 512 * 1024)));
    assert.equal(pool.jobs - before, specs.length);
    assert.ok(pool.workers <= 2, `${pool.workers} workers`);
  });

  test('with a lane in this thread: a lone layer starts no worker, layers at once spread to one', async () => {
    const lines: string[] = [];
    const laned = new CompressPool({
      size: 1,
      localLanes: 1,
      smallLayerBytes: 0,
      debug: (l) => lines.push(l),
    });
    try {
      const small = tar.subarray(0, 512 * 1024);
      const one = await run(laned, small, { type: 'gzip' });
      assert.equal(laned.workers, 0, 'no worker for one layer');
      assert.ok((await run(new InThreadCompressor(), small, { type: 'gzip' })).bytes.equals(one.bytes));
      const many = await Promise.all(
        [1, 2, 3, 4].map((n) => run(laned, small.subarray(0, n * 1024 * 64), { type: 'gzip' })),
      );
      for (const [n, g] of many.entries())
        assert.equal(g.t.diffID, sha(small.subarray(0, (n + 1) * 1024 * 64)));
      assert.equal(laned.workers, 1, 'several at once: the one worker too');
      assert.ok(
        lines.some((l) => l.includes('in this thread')) && lines.some((l) => l.includes('in worker thread')),
      );
    } finally {
      await laned.close();
    }
  });

  test('a small layer is compressed in this thread and leaves the lane to a big one beside it', async () => {
    const lines: string[] = [];
    const laned = new CompressPool({ size: 1, localLanes: 1, debug: (l) => lines.push(l) });
    try {
      const small = tar.subarray(0, 100_000);
      // the small layer asks first: under 1 MiB it must not take the lane the big one needs
      const [s, b] = await Promise.all([
        run(laned, small, { type: 'gzip' }, 4096),
        run(laned, tar, { type: 'gzip' }, 4096),
      ]);
      assert.equal(laned.workers, 0, 'no worker for a small layer beside a big one');
      assert.ok(s.bytes.equals((await run(new InThreadCompressor(), small, { type: 'gzip' })).bytes));
      assert.ok(b.bytes.equals((await run(new InThreadCompressor(), tar, { type: 'gzip' })).bytes));
      assert.equal(b.t.diffID, sha(tar));
      assert.equal(lines.filter((l) => l.includes('in this thread (a small layer)')).length, 1);
      assert.equal(lines.filter((l) => l.includes('in this thread (its lane)')).length, 1);
    } finally {
      await laned.close();
    }
  });

  test('closing the pool runs the jobs that wait for a worker in this thread', async () => {
    const own = new CompressPool({ size: 1, smallLayerBytes: 0 });
    async function* slow(): AsyncGenerator<Buffer> {
      yield tar.subarray(0, 300_000);
      await new Promise((r) => setTimeout(r, 300));
      yield tar.subarray(300_000, 600_000);
    }
    const busy = assert.rejects(own.compress(slow(), { type: 'gzip' }, collector().sink), /pool was closed/);
    await new Promise((r) => setTimeout(r, 50));
    const waiting = run(own, tar.subarray(0, 200_000), { type: 'gzip' });
    await new Promise((r) => setTimeout(r, 50));
    await own.close();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the waiting job is still waiting')), 5000);
    });
    try {
      const done = await Promise.race([waiting, timeout]);
      assert.equal(done.t.diffID, sha(tar.subarray(0, 200_000)));
    } finally {
      clearTimeout(timer);
    }
    await busy;
  });

  test('a worker that cannot start fails the job with an error and ends its source', async () => {
    // a URL Node refuses at once: new Worker throws in the pool's acquire
    const broken = new CompressPool({ size: 1, smallLayerBytes: 0, workerURL: new URL('http://x/w.js') });
    let ended = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        yield tar.subarray(0, 300_000);
        yield tar.subarray(300_000, 600_000);
      } finally {
        ended = true;
      }
    }
    try {
      await assert.rejects(
        broken.compress(source(), { type: 'gzip' }, collector().sink),
        /compressing a layer: starting a worker thread: The URL must be of scheme file/,
      );
      assert.ok(ended, 'the source generator was ended');
    } finally {
      await broken.close();
    }
  });

  test('closing the pool fails the jobs it runs; later jobs run in this thread', async () => {
    const lines: string[] = [];
    const own = new CompressPool({ size: 1, smallLayerBytes: 0, debug: (l) => lines.push(l) });
    async function* slow(): AsyncGenerator<Buffer> {
      yield tar.subarray(0, 300_000);
      await new Promise((r) => setTimeout(r, 200));
      yield tar.subarray(300_000, 600_000);
    }
    const running = assert.rejects(
      own.compress(slow(), { type: 'gzip' }, collector().sink),
      /the compression pool was closed/,
    );
    await new Promise((r) => setTimeout(r, 50));
    await own.close();
    await running;
    const after = await run(own, tar.subarray(0, 100_000), { type: 'zstd' });
    assert.equal(after.t.diffID, sha(tar.subarray(0, 100_000)));
    assert.match(lines.join('\n'), /zstd-3 in this thread \(the pool is closed\)/);
  });

  test('a failing tar source or sink fails the job, and the pool goes on', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield tar.subarray(0, 300_000);
      throw new Error('diff: "x" shrank while being read');
    }
    await assert.rejects(
      pool.compress(broken(), { type: 'gzip' }, collector().sink),
      /shrank while being read/,
    );
    const full = collector(10_000);
    await assert.rejects(pool.compress(chunks(tar, 65536), { type: 'zstd' }, full.sink), /disk full/);
    const ok = await run(pool, tar, { type: 'gzip' });
    assert.equal(ok.t.diffID, sha(tar));
  });
});
