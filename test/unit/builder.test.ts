/**
 * builder: the pure parts (filters, sizes, durations, platform folding, `ls`/`inspect`/`du`
 * layouts against buildx's output, the prune planner) and the builder store on a real
 * directory (create, use, current, rm, exclusive creation, running builds).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type Builder,
  BuilderStore,
  type CacheState,
  formatInGroups,
  mountedSnapshotIds,
  type NodeInfo,
  orderWorkerPlatforms,
  parsePruneFilters,
  planPrune,
  truncatePlatforms,
  usageItems,
  validateBuilderName,
} from '../../src/builder/index.js';
import { tabwriteTabs, usageTableHeader, usageTableRow } from '../../src/cli/du.js';
import { formatInspect } from '../../src/cli/inspect.js';
import { formatBuilderTable } from '../../src/cli/ls.js';
import type { CacheRecord } from '../../src/graph/cache.js';
import type { Digest } from '../../src/oci/digest.js';
import { parsePlatform } from '../../src/platforms/index.js';
import type { SizedSnapshot } from '../../src/snapshot/index.js';
import { humanDuration, humanSize } from '../../src/units.js';
import { sharedDir, tempDir } from '../helpers/fixtures.js';

const reference = readFileSync(join(sharedDir, 'reference-output', 'buildx-commands.txt'), 'utf8');

/** The lines of the reference output after `$ buildx <cmd>`, up to the next blank-then-`$` block. */
function referenceBlock(cmd: string): string {
  const start = reference.indexOf(`$ buildx ${cmd}\n`);
  assert.ok(start >= 0, cmd);
  const body = reference.slice(start + `$ buildx ${cmd}\n`.length);
  const end = body.indexOf('\n$ ');
  return end < 0 ? body : body.slice(0, end + 1);
}

describe('filters, sizes and durations', () => {
  test('until= takes a Go duration, in milliseconds; a bad one says what a duration looks like', () => {
    assert.equal(parsePruneFilters(['until=1h30m']).untilMs, 5_400_000);
    assert.equal(parsePruneFilters(['unused-for=1.5s']).untilMs, 1500);
    assert.throws(
      () => parsePruneFilters(['until=24']),
      /"until" filter expects a duration \(e\.g\., '24h'\): .*24/,
    );
    assert.throws(() => parsePruneFilters(['until=1d']), /"until" filter expects a duration/);
  });

  test('filters as buildx turns them into BuildKit filters', () => {
    const f = parsePruneFilters([
      'until=24h',
      'type=regular',
      'id=abc',
      'description~=RUN.*',
      'shared!=true',
    ]);
    assert.equal(f.untilMs, 86_400_000);
    assert.deepEqual(f.filters, [
      { field: 'type', op: '==', value: 'regular' },
      { field: 'id', op: '~=', value: 'abc' },
      { field: 'description', op: '~=', value: 'RUN.*' },
      { field: 'shared', op: '!=', value: 'true' },
    ]);
    assert.equal(parsePruneFilters(['unused-for=1h']).untilMs, 3_600_000);
    assert.throws(() => parsePruneFilters(['until']), /bad format of filter "until" \(expected name=value\)/);
    assert.throws(
      () => parsePruneFilters(['until=soon']),
      /"until" filter expects a duration \(e.g., '24h'\): time: invalid duration "soon"/,
    );
    assert.throws(() => parsePruneFilters(['until=1h', 'unused-for=2h']), /conflicting filters/);
    assert.throws(() => parsePruneFilters(['until=1h', 'until=2h']), /only one value/);
    assert.throws(() => parsePruneFilters(['color=red']), /unknown key "color"/);
    assert.throws(() => parsePruneFilters(['description~=(']), /not a regular expression/);
  });

  test("go-units' human sizes and durations", () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(1_981_952), '1.982MB');
    assert.equal(humanSize(12_500), '12.5kB');
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(75_000), 'About a minute');
    assert.equal(humanDuration(3 * 3_600_000), '3 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
    assert.equal(humanDuration(21 * 86_400_000), '3 weeks');
  });

  test('builder names', () => {
    assert.equal(validateBuilderName('MyBuilder'), 'mybuilder');
    assert.throws(() => validateBuilderName('1x'), /name needs to start with a letter/);
    assert.throws(() => validateBuilderName('a/b'), /may not contain symbols/);
  });
});

describe('platforms as buildx shows them', () => {
  const inspected =
    'linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4, linux/arm64, linux/riscv64, linux/ppc64le, linux/s390x, linux/386, linux/arm/v7, linux/arm/v6';

  test("ls folds the inspect list exactly as buildx's reference output", () => {
    const line = referenceBlock('ls').split('\n')[2]!;
    const expected = line.slice(line.indexOf('linux/'));
    assert.equal(truncatePlatforms(inspected.split(', '), 4), expected);
  });

  test("a worker's platforms in BuildKit's order: the host, its variants, then archutil's", () => {
    const want = inspected.split(', ');
    const host = parsePlatform('linux/amd64');
    for (const given of [[...want].reverse(), [...want.slice(5), ...want.slice(0, 5)]]) {
      const ordered = orderWorkerPlatforms(
        host,
        given.map((p) => parsePlatform(p)),
      ).map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/'));
      assert.deepEqual(ordered, want);
    }
  });

  test('configured platforms come first and are marked', () => {
    const out = formatInGroups(
      [parsePlatform('linux/arm64')],
      ['linux/amd64', 'linux/arm64', 'linux/arm/v7'].map((p) => parsePlatform(p)),
    );
    assert.deepEqual(out, ['linux/arm64*', 'linux/amd64', 'linux/arm/v7']);
    assert.equal(truncatePlatforms(['linux/arm/v7*', 'linux/arm/v6']), 'linux/arm* (+2)');
  });
});

describe('layouts match buildx', () => {
  const platforms =
    'linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/amd64/v4, linux/arm64, linux/riscv64, linux/ppc64le, linux/s390x, linux/386, linux/arm/v7, linux/arm/v6'.split(
      ', ',
    );
  const labels = {
    'org.mobyproject.buildkit.worker.executor': 'oci',
    'org.mobyproject.buildkit.worker.hostname': 'vm',
    'org.mobyproject.buildkit.worker.network': 'host',
    'org.mobyproject.buildkit.worker.oci.process-mode': 'sandbox',
    'org.mobyproject.buildkit.worker.selinux.enabled': 'false',
    'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs',
  };
  const node: NodeInfo = {
    name: 'mybuilder0',
    driver: 'remote',
    endpoint: 'unix:///run/buildkit/buildkitd.sock',
    status: 'running',
    version: 'v0.24.0',
    platforms,
    labels,
  };
  const builder = {
    name: 'mybuilder',
    driver: 'remote',
    isDefault: false,
    dir: '/x',
    cacheDir: '/x/cache',
    cacheMountsDir: '/x/cache-mounts',
    status: 'running',
    nodes: [],
    lastActivity: new Date('2026-11-28T09:13:05Z'),
  } as unknown as Builder;

  test('inspect', () => {
    assert.equal(formatInspect(builder, [node]), referenceBlock('inspect mybuilder').replace(/\n+$/, '\n'));
  });

  test('ls: a builder row and its node row', () => {
    const out = formatBuilderTable([{ builder, nodes: [node] }], 'default').split('\n');
    const ref = referenceBlock('ls').split('\n');
    // the reference's widths also fit its default row, which has no node; compare the cells
    const cells = (l: string) => l.trim().split(/ {3,}/);
    assert.deepEqual(cells(out[0]!), cells(ref[0]!));
    assert.deepEqual(cells(out[1]!), cells(ref[1]!));
    assert.deepEqual(cells(out[2]!), cells(ref[2]!));
    assert.match(out[2]!, /^ \\_ mybuilder0 {4}\\_ unix:/);
  });

  test('du rows and tabs as Go tabwriter pads them', () => {
    const row = usageTableRow(
      {
        kind: 'snapshot',
        id: 'cb1fed4d696c',
        parents: [],
        description: '',
        inUse: false,
        mutable: false,
        shared: true,
        type: 'regular',
        size: 1_981_952,
        createdAt: new Date(0),
        lastUsedAt: new Date(0),
        usageCount: 1,
        imageShared: false,
      },
      new Date(3_600_000 * 3),
    );
    const out = tabwriteTabs(usageTableHeader + row);
    assert.equal(
      out,
      `ID\t\t\t\t\t\tRECLAIMABLE\tSIZE\t\tLAST ACCESSED\ncb1fed4d696c${' '.repeat(28)}\ttrue \t\t1.982MB*  \t3 hours ago\n`,
    );
    assert.equal(tabwriteTabs('Reclaimable:\t1B\nTotal:\t2B\n'), 'Reclaimable:\t1B\nTotal:\t\t2B\n');
  });
});

describe('prune plan', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
  const snap = (id: string, parent: string | undefined, size: number, blob?: string): SizedSnapshot =>
    ({
      id,
      kind: 'committed',
      ...(parent ? { parent } : {}),
      size,
      created: hoursAgo(100).toISOString(),
      dir: `/s/${id}/fs`,
      ...(blob ? { blob: { mediaType: 'x', digest: blob as Digest, size: 10 } } : {}),
    }) as SizedSnapshot;
  const rec = (key: string, layers: string[], description = key): CacheRecord => ({
    key: key as Digest,
    layers: layers.map((snapshot) => ({ snapshot })),
    description,
    created: '',
  });
  // base ← a ← a2 (old, builder b1), base ← b (recent, b1), base ← c (builder b2)
  const state = (over: Partial<CacheState> = {}): CacheState => ({
    records: [
      {
        builder: 'b1',
        cacheDir: '/c1',
        record: rec('ka', ['base00000000', 'a00000000000']),
        lastUsed: hoursAgo(48),
      },
      {
        builder: 'b1',
        cacheDir: '/c1',
        record: rec('ka2', ['base00000000', 'a00000000000', 'a20000000000']),
        lastUsed: hoursAgo(47),
      },
      {
        builder: 'b1',
        cacheDir: '/c1',
        record: rec('kb', ['base00000000', 'b00000000000']),
        lastUsed: hoursAgo(1),
      },
      {
        builder: 'b2',
        cacheDir: '/c2',
        record: rec('kc', ['base00000000', 'c00000000000']),
        lastUsed: hoursAgo(1),
      },
    ],
    snapshots: [
      snap('base00000000', undefined, 1000),
      snap('a00000000000', 'base00000000', 300),
      snap('a20000000000', 'a00000000000', 200),
      snap('b00000000000', 'base00000000', 100, 'sha256:bb'),
      snap('c00000000000', 'base00000000', 50),
      snap('orphan000000', undefined, 7),
    ],
    inUse: new Set(),
    imageBlobs: new Set(['sha256:bb']),
    blobSizes: new Map([['sha256:bb', 10]]),
    cacheMounts: [],
    ...over,
  });
  const ids = (p: ReturnType<typeof planPrune>) => p.items.map((i) => i.id);

  test('rows: own snapshots, shared ones starred, orphans; last use from own records', () => {
    const items = usageItems(state(), 'b1');
    assert.deepEqual(
      items.map((i) => [i.id, i.shared, i.usageCount]),
      [
        ['base00000000', true, 3],
        ['a00000000000', false, 2],
        ['a20000000000', false, 1],
        ['b00000000000', false, 1],
        ['orphan000000', false, 0],
      ],
    );
    assert.equal(items.find((i) => i.id === 'a00000000000')!.lastUsedAt!.getTime(), hoursAgo(47).getTime());
  });

  test('--all removes everything of the builder but what another builder shares, children first', () => {
    const p = planPrune(state(), 'b1', { all: true, filters: [], now });
    assert.deepEqual(ids(p), ['a20000000000', 'a00000000000', 'b00000000000', 'orphan000000']);
    assert.deepEqual(p.records.sort(), ['ka', 'ka2', 'kb']);
  });

  test('without --all, what a named image shares stays', () => {
    const p = planPrune(state(), 'b1', { all: false, filters: [], now });
    assert.deepEqual(ids(p), ['a20000000000', 'a00000000000', 'orphan000000']);
    assert.deepEqual(p.records.sort(), ['ka', 'ka2']);
  });

  test('until: only what was not used for that long', () => {
    const p = planPrune(state(), 'b1', { all: true, untilMs: 24 * 3_600_000, filters: [], now });
    assert.deepEqual(ids(p), ['a20000000000', 'a00000000000', 'orphan000000']);
  });

  test('a parent goes only with its children; in-use snapshots stay', () => {
    const onlyParent = planPrune(state(), 'b1', {
      all: true,
      filters: parsePruneFilters(['id=^a0']).filters,
      now,
    });
    assert.deepEqual(ids(onlyParent), []);
    const inUse = planPrune(state({ inUse: new Set(['a20000000000']) }), 'b1', {
      all: true,
      filters: [],
      now,
    });
    assert.deepEqual(ids(inUse), ['b00000000000', 'orphan000000']);
  });

  test('in use: what overlays of this store stack, not steps of another store', () => {
    const ov = (mountPoint: string, lower: string) => ({
      mountPoint,
      fsType: 'overlay',
      source: 'overlay',
      options: `rw,lowerdir=${lower},upperdir=x,workdir=y`,
    });
    const ids = mountedSnapshotIds('/r/snapshots', [
      ov('/r/snapshots/.tmp/1.2-abc/merged', 'aaaaaaaaaaaa/fs:.empty/0'),
      ov('/other/snapshots/.tmp/3.4-def/merged', 'bbbbbbbbbbbb/fs:.empty/0'),
      ov('/mnt/view', 'cccccccccccc/fs:.empty/0:.empty/1'),
      ov('/mnt/abs', '/r/snapshots/dddddddddddd/fs:/elsewhere/eeeeeeeeeeee/fs'),
      { mountPoint: '/proc', fsType: 'proc', source: 'proc', options: 'rw' },
    ]);
    assert.deepEqual([...ids].sort(), ['aaaaaaaaaaaa', 'cccccccccccc', 'dddddddddddd']);
  });

  test('keep-storage removes least recently used first until the cache fits', () => {
    // b1's rows: 1000 + 300 + 200 + 100 + 7 = 1607 bytes
    const p = planPrune(state(), 'b1', { all: true, filters: [], keepBytes: 1200, now });
    // the orphan (never used) and the a-chain (47-48h) go; b (1h) stays
    assert.deepEqual(ids(p), ['a20000000000', 'a00000000000', 'orphan000000']);
    const nothing = planPrune(state(), 'b1', { all: true, filters: [], keepBytes: 5000, now });
    assert.deepEqual(ids(nothing), []);
  });
});

describe('builder store', () => {
  test('create, use, list, current, stop, rm', async () => {
    const root = tempDir();
    const s = await BuilderStore.open(root);
    assert.equal(await s.currentName(), 'default');
    const d = await s.resolve(undefined);
    assert.equal(d.cacheDir, join(root, 'cache'));
    const b = await s.create({ name: 'MyBuilder', platforms: ['linux/arm64'], use: true });
    assert.equal(b.name, 'mybuilder');
    assert.equal(b.cacheDir, join(root, 'builders', 'mybuilder', 'cache'));
    assert.equal(b.status, 'inactive');
    assert.equal(await s.currentName(), 'mybuilder');
    assert.deepEqual(
      (await s.list()).map((x) => x.name),
      ['mybuilder', 'default'],
    );
    await assert.rejects(s.create({ name: 'mybuilder' }), /existing instance for "mybuilder"/);
    await assert.rejects(s.create({ name: 'x', driver: 'kubernetes' }), /failed to find driver "kubernetes"/);
    await assert.rejects(s.create({ name: 'default' }), /already exists/);
    await assert.rejects(s.get('nosuch'), /^NotFoundError: no builder "nosuch" found$/m);
    assert.equal((await s.boot('mybuilder')).status, 'running');
    await s.stop('mybuilder');
    assert.equal((await s.get('mybuilder')).status, 'stopped');
    await assert.rejects(s.remove('default'), /cannot be removed/);
    await s.remove('mybuilder');
    assert.equal(existsSync(join(root, 'builders', 'mybuilder')), false);
    assert.equal(await s.currentName(), 'default');
  });

  test('rm --keep-state keeps the cache for a builder of the same name', async () => {
    const root = tempDir();
    const s = await BuilderStore.open(root);
    await s.create({ name: 'k' });
    await s.boot('k');
    await s.remove('k', { keepState: true });
    await assert.rejects(s.get('k'), /no builder "k" found/);
    assert.ok(existsSync(join(root, 'builders', 'k', 'cache', 'records')));
    assert.ok((await s.allCacheDirs()).some((c) => c.builder === 'k'));
    await s.create({ name: 'k' });
    assert.equal((await s.get('k')).cacheDir, join(root, 'builders', 'k', 'cache'));
  });

  test('two creates of one name: exactly one wins', async () => {
    const root = tempDir();
    const [a, b] = await Promise.all([BuilderStore.open(root), BuilderStore.open(root)]);
    const results = await Promise.allSettled([a.create({ name: 'race' }), b.create({ name: 'race' })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  test('exclusiveCache waits for running builds, and builds wait for it', async () => {
    const root = tempDir();
    const s = await BuilderStore.open(root);
    const hold = await s.registerBuild(await s.resolve(undefined));
    assert.deepEqual(await s.runningBuilds(), ['default']);
    let waited = 0;
    let ran = false;
    const done = s.exclusiveCache(
      async () => {
        ran = true;
      },
      { onWait: (n) => (waited = n) },
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ran, false);
    assert.equal(waited, 1);
    await hold.release();
    await done;
    assert.equal(ran, true);
    assert.deepEqual(await s.runningBuilds(), []);

    // a build that starts while the cache is held waits until it is released
    const order: string[] = [];
    const exclusive = s.exclusiveCache(async () => {
      order.push('exclusive start');
      await new Promise((r) => setTimeout(r, 300));
      order.push('exclusive end');
    });
    while (order.length === 0) await new Promise((r) => setTimeout(r, 10));
    const later = await s.registerBuild(await s.resolve(undefined));
    order.push('build registered');
    await exclusive;
    assert.deepEqual(order, ['exclusive start', 'exclusive end', 'build registered']);
    await later.release();
  });
});
