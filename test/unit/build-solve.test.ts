/**
 * build/solve — a build's platforms planned and solved on a builder's nodes, with fake nodes:
 * every node plans before any solves, a plan's refusal means nothing runs, and the results
 * come back in the build's platform order.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildFailure } from '../../src/build/failure.js';
import { type BuildRequest, scheduleNodes, solveOnNodes } from '../../src/build/solve.js';
import type { BuildNode, NodeEnv, SolveRequest } from '../../src/driver/types.js';
import { BuildError, InvalidArgumentError, PolyarchError } from '../../src/errors.js';
import type { PlatformBuild } from '../../src/exporter/assemble.js';
import { formatPlatform, parsePlatform } from '../../src/platforms/index.js';
import { Progress, RecordingSink } from '../../src/progress/writer.js';
import { defaultRequest } from '../helpers/requests.js';

const platforms = ['linux/amd64', 'linux/arm64', 'linux/arm/v7'].map((p) => parsePlatform(p));

function request(): BuildRequest {
  return defaultRequest(
    { name: 'Dockerfile', source: Buffer.from('FROM scratch\n'), parsed: {} as never },
    platforms,
  );
}

const env: NodeEnv = {
  progress: new Progress(new RecordingSink()),
  signal: new AbortController().signal,
  env: {},
};

function build(p: SolveRequest['platforms'][number]): PlatformBuild {
  return { platform: p, config: { Env: [formatPlatform(p)] }, history: [], stepKeys: new Map(), layers: [] };
}

interface FakeNode {
  refuse?: string;
  /** solve fails with this, after `failAfterMs` */
  fail?: string;
  failAfterMs?: number;
  solveMs?: number;
  configured?: string[];
  native?: string[];
  emulated?: string[];
  down?: string;
}

/** A node that records what it was asked. */
function fakeNode(name: string, events: string[], opts: FakeNode = {}): BuildNode {
  const list = (l: string[] | undefined) => (l ?? []).map((p) => parsePlatform(p));
  return {
    name,
    configured: list(opts.configured),
    async workers() {
      events.push(`workers ${name}`);
      if (opts.down) throw new Error(opts.down);
      return { native: list(opts.native), emulated: list(opts.emulated) };
    },
    async plan(req) {
      events.push(`plan ${name} ${req.platforms.map(formatPlatform).join(',')}`);
      if (opts.refuse) throw new InvalidArgumentError(opts.refuse);
      return {
        platforms: req.platforms,
        async solve() {
          events.push(`solve ${name}`);
          await new Promise((r) => setTimeout(r, opts.fail ? (opts.failAfterMs ?? 0) : (opts.solveMs ?? 0)));
          if (opts.fail) throw new BuildError(opts.fail);
          events.push(`solved ${name}`);
          return req.platforms.map(build);
        },
      };
    },
  };
}

describe('solving a build on nodes', () => {
  test('a builder of one node gets every platform without being asked what it runs', async () => {
    const events: string[] = [];
    const node = fakeNode('default', events);
    const a = await scheduleNodes(platforms, [node]);
    assert.equal(a.length, 1);
    assert.equal(a[0]!.node, node);
    assert.deepEqual(a[0]!.platforms.map(formatPlatform), ['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    assert.deepEqual(events, []);
  });

  test('a builder without nodes is refused', async () => {
    await assert.rejects(scheduleNodes(platforms, []), /no nodes/);
  });

  test('configured first, then native, then emulated, in node order', async () => {
    const events: string[] = [];
    const here = fakeNode('here', events, {
      native: ['linux/amd64'],
      emulated: ['linux/arm64', 'linux/arm/v7'],
    });
    const arm = fakeNode('armbox', events, { native: ['linux/arm64', 'linux/arm/v7'] });
    const pin = fakeNode('pinned', events, { configured: ['linux/arm/v7'], native: ['linux/amd64'] });
    const shares = (a: Awaited<ReturnType<typeof scheduleNodes>>) =>
      a.map((x) => `${x.node.name}: ${x.platforms.map(formatPlatform).join(',')}`);
    assert.deepEqual(shares(await scheduleNodes(platforms, [here, arm, pin])), [
      'here: linux/amd64',
      'armbox: linux/arm64',
      'pinned: linux/arm/v7',
    ]);
    // without the native arm node, the emulating one takes arm64
    assert.deepEqual(shares(await scheduleNodes(platforms, [here, pin])), [
      'here: linux/amd64,linux/arm64',
      'pinned: linux/arm/v7',
    ]);
    // a platform nobody runs goes to the first node (its plan says why it cannot)
    const s390x = [parsePlatform('linux/s390x')];
    assert.deepEqual(shares(await scheduleNodes(s390x, [arm, here])), ['armbox: linux/s390x']);
  });

  test('a node that is down is skipped with a warning, unless a platform is configured on it', async () => {
    const events: string[] = [];
    const warnings: string[] = [];
    const here = fakeNode('here', events, {
      native: ['linux/amd64'],
      emulated: ['linux/arm64', 'linux/arm/v7'],
    });
    const arm = fakeNode('armbox', events, { native: ['linux/arm64'], down: 'connection refused' });
    const a = await scheduleNodes(platforms, [here, arm], (w) => warnings.push(w));
    assert.deepEqual(
      a.map((x) => x.node.name),
      ['here'],
    );
    assert.equal(a[0]!.platforms.length, 3);
    assert.deepEqual(warnings, [
      'node armbox cannot be reached, building on the other nodes: connection refused',
    ]);

    const pinned = fakeNode('armbox', events, { configured: ['linux/arm64'], down: 'connection refused' });
    await assert.rejects(
      scheduleNodes(platforms, [here, pinned]),
      /node armbox cannot be reached to build linux\/arm64, which is configured on it: connection refused/,
    );
    const alone = fakeNode('only', events, { down: 'no route to host' });
    await assert.rejects(
      scheduleNodes(platforms, [alone, arm]),
      /no node of the builder can be reached to build linux\/amd64/,
    );
  });

  test('the node plans its share, then solves it; results follow the build order', async () => {
    const events: string[] = [];
    const out = await solveOnNodes([fakeNode('default', events)], request(), env);
    assert.deepEqual(events, [
      'plan default linux/amd64,linux/arm64,linux/arm/v7',
      'solve default',
      'solved default',
    ]);
    assert.deepEqual(
      out.map((b) => b.config.Env),
      [['linux/amd64'], ['linux/arm64'], ['linux/arm/v7']],
    );
  });

  test('a plan refused runs nothing', async () => {
    const events: string[] = [];
    await assert.rejects(
      solveOnNodes([fakeNode('default', events, { refuse: 'no emulator for linux/arm64' })], request(), env),
      /no emulator for linux\/arm64/,
    );
    assert.ok(!events.some((e) => e.startsWith('solve')), events.join('; '));
  });

  test('several nodes: each share is a progress step; a failing node names itself and lets the others finish', async () => {
    const events: string[] = [];
    const sink = new RecordingSink();
    const nodeEnv = { ...env, progress: new Progress(sink) };
    const nodes = [
      fakeNode('here', events, { native: ['linux/amd64'], solveMs: 150 }),
      fakeNode('armbox', events, {
        native: ['linux/arm64', 'linux/arm/v7'],
        fail: 'exit code: 1',
        failAfterMs: 10,
      }),
    ];
    const err = await solveOnNodes(nodes, request(), nodeEnv).catch((e: unknown) => e);
    // the node that worked finished (its results are cached) before the build failed
    assert.ok(events.includes('solved here'), events.join('; '));
    const said = buildFailure(err, undefined);
    assert.ok(said instanceof PolyarchError);
    assert.equal(said.code, 'BUILD');
    assert.equal(said.message, 'failed to build: node armbox (linux/arm64, linux/arm/v7): exit code: 1');
    const steps = new Map<string, { completed?: string; error?: string }>();
    for (const b of sink.batches)
      for (const v of b.vertexes ?? []) steps.set(v.name, { ...steps.get(v.name), ...v });
    assert.ok(steps.get('[node here] linux/amd64')?.completed, [...steps.keys()].join('; '));
    assert.equal(steps.get('[node armbox] linux/arm64, linux/arm/v7')?.error, 'exit code: 1');
  });

  test('one node: no node steps, errors unchanged', async () => {
    const sink = new RecordingSink();
    const err = await solveOnNodes([fakeNode('default', [], { fail: 'exit code: 2' })], request(), {
      ...env,
      progress: new Progress(sink),
    }).catch((e: unknown) => e);
    assert.equal((err as Error).message, 'exit code: 2');
    assert.equal(sink.batches.length, 0);
  });
});
