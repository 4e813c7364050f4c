import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CacheStore } from '../../src/graph/cache.js';
import type { ExecOp, LayerInfo, Op, Vertex } from '../../src/graph/ops.js';
import {
  type OpRunners,
  type Result,
  Solver,
  type SolverOptions,
  VertexError,
} from '../../src/graph/solver.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import { Progress, RecordingSink } from '../../src/progress/writer.js';
import { tempDir } from '../helpers/fixtures.js';

const linux = { os: 'linux', architecture: 'amd64' };

function exec(args: string[], input: Vertex, name = `RUN ${args.join(' ')}`): Vertex {
  const op: ExecOp = {
    type: 'exec',
    args,
    env: [],
    cwd: '/',
    user: '',
    network: 'default',
    security: 'sandbox',
    mounts: [],
    platform: linux,
  };
  return { op, inputs: [input], name };
}

const scratch: Vertex = { op: { type: 'scratch' }, inputs: [], name: 'scratch', hidden: true };

/** In-memory runners: each exec appends a fake layer named after its args; counts runs. */
function fakeRunners(opts: { fail?: string; delayMs?: number } = {}) {
  const runs: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const layer = (name: string): LayerInfo => ({ snapshot: name, diffID: digestOf(name) as Digest });
  const runners: OpRunners = {
    scratch: { uncached: true, run: async (): Promise<Result> => ({ kind: 'layers', layers: [] }) },
    image: { uncached: true, run: async (): Promise<Result> => ({ kind: 'layers', layers: [] }) },
    context: { uncached: true, run: async (): Promise<Result> => ({ kind: 'dir', dir: '/' }) },
    file: { run: async (_op, ctx): Promise<Result> => ctx.inputs[0]! },
    exec: {
      heavy: true,
      run: async (op, ctx): Promise<Result> => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          await new Promise((r) => setTimeout(r, opts.delayMs ?? 5));
          ctx.signal.throwIfAborted();
          const name = op.args.join(' ');
          runs.push(name);
          if (name === opts.fail) throw new Error(`exit code: 1`);
          const parent = ctx.inputs[0]!;
          return {
            kind: 'layers',
            layers: [...(parent.kind === 'layers' ? parent.layers : []), layer(name)],
          };
        } finally {
          running--;
        }
      },
    },
  };
  return { runners, runs, maxRunning: () => maxRunning };
}

function newSolver(
  runners: OpRunners,
  cacheDir: string,
  extra: Pick<SolverOptions, 'concurrency' | 'noCache' | 'imported' | 'materialize'> = {},
) {
  const sink = new RecordingSink();
  const solver = new Solver({
    cache: new CacheStore({ dir: cacheDir }),
    runners,
    progress: new Progress(sink),
    ...extra,
  });
  return { solver, sink };
}

describe('Solver', () => {
  test('steps(): what a rebuild hit at the top, and what the cache holds under it (for --cache-to mode=max)', async () => {
    const dir = tempDir();
    const b = exec(['b'], exec(['a'], scratch), 'RUN b');
    await newSolver(fakeRunners().runners, dir).solver.solve(b);
    const f = fakeRunners();
    const again = newSolver(f.runners, dir).solver;
    await again.solve(b);
    assert.deepEqual(f.runs, []);
    const steps = await again.steps([b]);
    assert.deepEqual(steps.map((s) => s.description).sort(), ['RUN a', 'RUN b']);
    assert.deepEqual(
      steps.find((s) => s.description === 'RUN a')?.layers.map((l) => l.snapshot),
      ['a'],
    );
  });

  test('a key found in an imported cache is a hit: nothing runs, the step is CACHED and recorded locally', async () => {
    const b = exec(['b'], exec(['a'], scratch), 'RUN b');
    const first = newSolver(fakeRunners().runners, tempDir()).solver;
    await first.solve(b);
    assert.deepEqual((await first.steps([b])).map((s) => s.description).sort(), ['RUN a', 'RUN b']);
    const bKey = await first.key(b);
    const f = fakeRunners();
    const asked: Digest[] = [];
    const layers = [{ snapshot: 'b-unpacked', diffID: digestOf('b') }];
    const dir = tempDir();
    const { solver, sink } = newSolver(f.runners, dir, {
      imported: async (key) => {
        asked.push(key);
        return key === bKey ? { layers, description: 'RUN b' } : undefined;
      },
    });
    assert.deepEqual(await solver.solve(b), { kind: 'layers', layers });
    assert.deepEqual(f.runs, []);
    assert.deepEqual(asked, [bKey], 'the final step hits: the steps under it are not looked up');
    assert.ok(await new CacheStore({ dir }).get(bKey), 'recorded in the local cache');
    assert.ok(sink.batches.some((e) => e.vertexes?.some((v) => v.cached && v.name === 'RUN b')));
  });

  test('an imported hit is lazy: materialized (once) and recorded only when a step that runs needs it', async () => {
    const a = exec(['a'], scratch, 'RUN a');
    const b = exec(['b'], a, 'RUN b');
    const c = exec(['c'], a, 'RUN c');
    const aKey = await newSolver(fakeRunners().runners, tempDir()).solver.key(a);
    const origin = {
      name: 'cache',
      blob: () => ({
        open: async () => {
          throw new Error('no');
        },
      }),
      mountFrom: () => [],
    };
    const lazy: LayerInfo[] = [{ snapshot: '', diffID: digestOf('a'), origin }];
    const imported: SolverOptions['imported'] = async (key) =>
      key === aKey ? { layers: lazy, description: 'RUN a' } : undefined;
    // the hit alone: nothing materialized, nothing recorded
    let materialized = 0;
    const materialize: SolverOptions['materialize'] = async () => {
      materialized++;
      return [{ snapshot: 'a-unpacked', diffID: digestOf('a') }];
    };
    const onlyA = tempDir();
    const r = await newSolver(fakeRunners().runners, onlyA, { imported, materialize }).solver.solve(a);
    assert.deepEqual(r, { kind: 'layers', layers: lazy });
    assert.equal(materialized, 0);
    assert.equal(await new CacheStore({ dir: onlyA }).get(aKey), undefined, 'a lazy hit is not recorded');
    // two steps run on it: one materialization, their inputs usable, the hit recorded
    const dir = tempDir();
    const f = fakeRunners();
    const { solver } = newSolver(f.runners, dir, { imported, materialize });
    const [rb] = await Promise.all([solver.solve(b), solver.solve(c)]);
    assert.deepEqual(f.runs.sort(), ['b', 'c']);
    assert.equal(materialized, 1);
    assert.deepEqual(rb.kind === 'layers' && rb.layers.map((l) => l.snapshot), ['a-unpacked', 'b']);
    assert.equal((await new CacheStore({ dir }).get(aKey))?.layers[0]?.snapshot, 'a-unpacked');
  });

  test('equal steps (same key) run once, even when reached from two graphs', async () => {
    const dir = tempDir();
    const f = fakeRunners();
    const { solver } = newSolver(f.runners, dir);
    const a1 = exec(['mkdir', '/app'], scratch);
    const a2 = exec(['mkdir', '/app'], scratch, 'another name, same op');
    const b = exec(['build', 'arm64'], a1);
    const c = exec(['build', 'amd64'], a2);
    await Promise.all([solver.solve(b), solver.solve(c)]);
    assert.deepEqual(f.runs.filter((r) => r === 'mkdir /app').length, 1);
    assert.equal(f.runs.length, 3);
  });

  test('a second solve with the same cache runs nothing and reports every step CACHED', async () => {
    const dir = tempDir();
    const first = fakeRunners();
    const v = exec(['three'], exec(['two'], exec(['one'], scratch)));
    const r1 = await newSolver(first.runners, dir).solver.solve(v);
    assert.equal(first.runs.length, 3);
    const second = fakeRunners();
    const { solver, sink } = newSolver(second.runners, dir);
    const r2 = await solver.solve(v);
    assert.equal(second.runs.length, 0);
    assert.deepEqual(r2, r1);
    const cached = new Set(
      sink.batches
        .flatMap((b) => b.vertexes ?? [])
        .filter((x) => x.cached)
        .map((x) => x.name),
    );
    assert.deepEqual([...cached].sort(), ['RUN one', 'RUN three', 'RUN two']);
  });

  test('a changed step re-runs only itself and what depends on it', async () => {
    const dir = tempDir();
    await newSolver(fakeRunners().runners, dir).solver.solve(
      exec(['three'], exec(['two'], exec(['one'], scratch))),
    );
    const again = fakeRunners();
    await newSolver(again.runners, dir).solver.solve(exec(['three'], exec(['TWO'], exec(['one'], scratch))));
    assert.deepEqual(again.runs, ['TWO', 'three']);
  });

  test('--no-cache runs everything again', async () => {
    const dir = tempDir();
    const v = exec(['b'], exec(['a'], scratch));
    await newSolver(fakeRunners().runners, dir).solver.solve(v);
    const again = fakeRunners();
    await newSolver(again.runners, dir, { noCache: true }).solver.solve(v);
    assert.deepEqual(again.runs, ['a', 'b']);
  });

  test('heavy ops are bounded by the concurrency limit', async () => {
    const f = fakeRunners({ delayMs: 20 });
    const { solver } = newSolver(f.runners, tempDir(), { concurrency: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => solver.solve(exec([x], scratch))));
    assert.equal(f.runs.length, 5);
    assert.equal(f.maxRunning(), 2);
  });

  test('a failing step fails the solve with the vertex, and nothing is cached for it', async () => {
    const dir = tempDir();
    const f = fakeRunners({ fail: 'bad' });
    const bad = exec(['bad'], exec(['ok'], scratch));
    await assert.rejects(newSolver(f.runners, dir).solver.solve(bad), (err: unknown) => {
      assert.ok(err instanceof VertexError);
      assert.equal(err.vertex, bad);
      return true;
    });
    // 'ok' was cached and 'bad' was not: a rerun tries only 'bad' again
    const again = fakeRunners({ fail: 'bad' });
    await assert.rejects(newSolver(again.runners, dir).solver.solve(exec(['bad'], exec(['ok'], scratch))));
    assert.deepEqual(again.runs, ['bad']);
  });

  test('cache keys do not depend on progress names', async () => {
    const { solver } = newSolver(fakeRunners().runners, tempDir());
    const k1 = await solver.key(exec(['x'], scratch, 'one name'));
    const k2 = await solver.key(exec(['x'], scratch, 'other name'));
    const k3 = await solver.key(exec(['y'], scratch));
    assert.equal(k1, k2);
    assert.notEqual(k1, k3);
  });
});

// keep the Op type referenced for readers
export type _Op = Op;
