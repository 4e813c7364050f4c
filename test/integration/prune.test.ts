/**
 * du and prune on a real build cache (real builds through `bin/polyarch`): prune removes what
 * is unused and keeps what a named image needs, `--keep-storage` and `--filter until=` pick
 * the right rows, rmi + prune leave the store verifying, a prune waits for a running build,
 * and bad input changes nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch } from '../helpers/cli.js';
import { ensureBaseImages, polyarchBin, registryHost, tempDir } from '../helpers/fixtures.js';

function context(lines: string[]): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${registryHost}/busybox:1.35\n${lines.join('\n')}\n`);
  return dir;
}

/** Descriptions of the rows `du --verbose` shows. */
async function duDescriptions(root: string): Promise<string[]> {
  const r = await polyarch(['du', '--verbose'], { root });
  assert.equal(r.code, 0, r.stderr);
  return [...r.stdout.matchAll(/^Description:\t+(.*)$/gm)].map((m) => m[1]!);
}

/** Ages the cache records whose step description contains `text` by `hours`. */
function ageRecords(cacheDir: string, text: string, hours: number): number {
  const dir = join(cacheDir, 'records');
  let n = 0;
  const t = new Date(Date.now() - hours * 3_600_000);
  for (const name of readdirSync(dir)) {
    const rec = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { description: string };
    if (!rec.description.includes(text)) continue;
    utimesSync(join(dir, name), t, t);
    n++;
  }
  return n;
}

/** Snapshot ids, record files and blobs: what must not change on bad input. */
function storeState(root: string): string {
  const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
  return JSON.stringify([
    ls(join(root, 'snapshots')),
    ls(join(root, 'cache', 'records')),
    ls(join(root, 'content', 'blobs', 'sha256')),
  ]);
}

/**
 * Snapshot ids that overlay mounts on this machine stack (by relative lowerdir). The snapshot
 * store refuses to remove those, also when another root's build (a test running beside this
 * one) stacks the same chain: a prune keeps them.
 */
function stackedIds(): Set<string> {
  const ids = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const m = /lowerdir=([^, ]+)/.exec(line);
    if (!m) continue;
    for (const d of m[1]!.split(':')) {
      const id = /^([0-9a-f]{12})\/fs$/.exec(d);
      if (id) ids.add(id[1]!);
    }
  }
  return ids;
}

/** Runs `fn`, answering the ids stacked before or after it. */
async function whileStacked<T>(fn: () => Promise<T>): Promise<{ result: T; stacked: Set<string> }> {
  const before = stackedIds();
  const result = await fn();
  return { result, stacked: new Set([...before, ...stackedIds()]) };
}

function snapshotIds(root: string): string[] {
  return readdirSync(join(root, 'snapshots')).filter((n) => /^[0-9a-f]{12}$/.test(n));
}

async function checkStore(root: string): Promise<void> {
  const r = await polyarch(['debug', 'check-store'], { root });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /store ok\n$/);
}

describe('du and prune', () => {
  before(() => ensureBaseImages());

  test('prune removes what is unused and keeps what named images need', async () => {
    const root = tempDir();
    const img = context(['RUN echo kept > /kept']);
    const scratch = context(['RUN head -c 1048576 /dev/urandom > /dangling']);
    assert.equal((await polyarch(['build', '-t', 'img', img], { root })).code, 0);
    assert.equal((await polyarch(['build', scratch], { root })).code, 0);

    const du = await polyarch(['du'], { root });
    assert.equal(du.code, 0, du.stderr);
    assert.match(du.stdout, /^ID\t+RECLAIMABLE\tSIZE\t+LAST ACCESSED\n/);
    assert.match(du.stdout, /^[0-9a-f]{12} {28}\ttrue \t+\S+ *\t(Less than a second|\d+ seconds?) ago$/m);
    assert.match(du.stdout, /\nReclaimable:\t\S+\nTotal:\t\t\S+\n$/);
    const all = await duDescriptions(root);
    assert.ok(all.includes('[2/2] RUN echo kept > /kept'), all.join('\n'));
    assert.ok(all.some((d) => d.includes('/dangling')));

    // without --all: the dangling step goes, the named image's layers stay
    const p1 = await polyarch(['prune', '--force'], { root });
    assert.equal(p1.code, 0, p1.stderr);
    assert.match(p1.stdout, /^ID\t+RECLAIMABLE\tSIZE\t+LAST ACCESSED\n[0-9a-f]{12} +\ttrue \t+1\.0\d+MB/);
    assert.match(p1.stdout, /Total:\t\d/);
    const left = await duDescriptions(root);
    assert.ok(left.includes('[2/2] RUN echo kept > /kept'), left.join('\n'));
    assert.ok(!left.some((d) => d.includes('/dangling')), left.join('\n'));
    await checkStore(root);

    // --all: everything goes; the image still runs (its layers are unpacked again)
    const { result: p2, stacked } = await whileStacked(() =>
      polyarch(['prune', '--all', '--force'], { root }),
    );
    assert.equal(p2.code, 0, p2.stderr);
    assert.match(p2.stdout, /\tRECLAIMABLE\t.*\nTotal:\t\d+(\.\d+)?[kM]?B\n$/s);
    // everything is gone but what an overlay stacks
    for (const id of snapshotIds(root)) assert.ok(stacked.has(id), `snapshot ${id} left behind`);
    assert.ok(!(await duDescriptions(root)).some((d) => d.includes('RUN')));
    await checkStore(root);
    const run = await polyarch(['run', '--rm', 'img', 'cat', '/kept'], { root });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'kept\n');

    // a rebuild after prune --all runs the step again and succeeds
    await polyarch(['prune', '--all', '--force'], { root });
    const again = await polyarch(['build', '--progress', 'plain', '-t', 'img', img], { root });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /CACHED/);
    assert.equal((await polyarch(['run', '--rm', 'img', 'cat', '/kept'], { root })).stdout, 'kept\n');
    await checkStore(root);
  });

  test('--filter until= and --keep-storage pick the right rows', async () => {
    const root = tempDir();
    const old = context(['RUN head -c 2097152 /dev/urandom > /old']);
    const recent = context(['RUN head -c 1048576 /dev/urandom > /recent']);
    const cache = join(root, 'cache');
    assert.equal((await polyarch(['build', old], { root })).code, 0);
    assert.equal((await polyarch(['build', recent], { root })).code, 0);
    assert.equal(ageRecords(cache, '/old', 48), 1);

    // nothing unused for 72h: no row goes (content GC may still collect unnamed metadata)
    const snapsBefore = readdirSync(join(root, 'snapshots')).sort();
    const none = await polyarch(['prune', '--all', '-f', '--filter', 'until=72h'], { root });
    assert.match(none.stdout, /^Total:\t\d+B\n$/);
    assert.deepEqual(readdirSync(join(root, 'snapshots')).sort(), snapsBefore);
    const p = await polyarch(['prune', '--all', '-f', '--filter', 'until=24h'], { root });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /\t2\.09\dMB/);
    let rows = await duDescriptions(root);
    assert.ok(!rows.some((d) => d.includes('/old')), rows.join('\n'));
    assert.ok(rows.some((d) => d.includes('/recent')));
    assert.ok(
      rows.some((d) => d.startsWith('pulled layer')),
      'the base layer is used recently and stays',
    );

    // the same again by size: the least recently used row goes until the cache fits
    assert.equal((await polyarch(['build', old], { root })).code, 0);
    assert.equal(ageRecords(cache, '/old', 48), 1);
    const big = await polyarch(['prune', '--all', '-f', '--keep-storage', '1GB'], { root });
    assert.match(big.stdout, /^Total:\t\d+B\n$/);
    const k = await polyarch(['prune', '--all', '-f', '--keep-storage', '4MB'], { root });
    assert.equal(k.code, 0, k.stderr);
    rows = await duDescriptions(root);
    assert.ok(!rows.some((d) => d.includes('/old')), rows.join('\n'));
    assert.ok(
      rows.some((d) => d.includes('/recent')),
      rows.join('\n'),
    );
    const du = await polyarch(['du'], { root });
    const total = /Total:\t+(\d+(?:\.\d+)?)MB/.exec(du.stdout);
    assert.ok(total && Number(total[1]) <= 4 * 1.048576, du.stdout);
    await checkStore(root);
  });

  test('rmi and prune leave the content store verifying; rmi keeps the blobs the cache uses', async () => {
    const root = tempDir();
    const ctx = context(['RUN echo a > /a']);
    assert.equal((await polyarch(['build', '-t', 'gone', ctx], { root })).code, 0);
    assert.equal((await polyarch(['rmi', 'gone'], { root })).code, 0);
    await checkStore(root);
    // every cached snapshot's blob is still in the store
    const snaps = snapshotIds(root);
    assert.ok(snaps.length >= 2);
    let blobs = 0;
    for (const id of snaps) {
      const meta = JSON.parse(readFileSync(join(root, 'snapshots', id, 'meta.json'), 'utf8')) as {
        blob?: { digest: string };
      };
      if (!meta.blob) continue;
      blobs++;
      assert.ok(
        existsSync(join(root, 'content', 'blobs', 'sha256', meta.blob.digest.slice(7))),
        `blob of snapshot ${id}`,
      );
    }
    assert.ok(blobs >= 2, 'the base layer and the exported step layer');
    const { result: p, stacked } = await whileStacked(() =>
      polyarch(['prune', '--all', '--force'], { root }),
    );
    assert.equal(p.code, 0, p.stderr);
    await checkStore(root);
    // no name is left, so the only blobs left are those of snapshots an overlay stacks
    const kept = new Set<string>();
    for (const id of snapshotIds(root)) {
      assert.ok(stacked.has(id), `snapshot ${id} left behind`);
      const meta = JSON.parse(readFileSync(join(root, 'snapshots', id, 'meta.json'), 'utf8')) as {
        blob?: { digest: string };
      };
      if (meta.blob) kept.add(meta.blob.digest.slice(7));
    }
    for (const hex of readdirSync(join(root, 'content', 'blobs', 'sha256'))) {
      assert.ok(kept.has(hex), `blob ${hex} left behind`);
    }
  });

  test('prune asks first, and waits for a build that started before it', async () => {
    const root = tempDir();
    const ctx = context(['RUN sleep 3 && echo slow > /slow']);
    const no = await polyarch(['prune'], { root, input: 'n\n' });
    assert.equal(no.code, 0);
    assert.equal(
      no.stdout,
      'WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ',
    );
    const allNo = await polyarch(['prune', '--all'], { root, input: '' });
    assert.equal(
      allNo.stdout,
      'WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] ',
    );

    const build = spawn(polyarchBin, ['build', '-t', 'slow', ctx], {
      env: { ...process.env, POLYARCH_ROOT: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buildErr = '';
    build.stderr.on('data', (d: Buffer) => {
      buildErr += d;
    });
    const built = new Promise<{ code: number | null; at: number }>((resolve) =>
      build.on('close', (code) => resolve({ code, at: Date.now() })),
    );
    // wait until the build has registered and started its step
    const holds = join(root, 'builders', '.holds');
    for (let i = 0; i < 200 && !(existsSync(holds) && readdirSync(holds).length > 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 800));
    const prune = await polyarch(['prune', '--all', '--force'], { root, input: '' });
    const prunedAt = Date.now();
    const b = await built;
    assert.equal(b.code, 0, buildErr);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stderr, /^waiting for 1 running build to finish\n$/);
    assert.ok(prunedAt >= b.at, 'prune finished after the build');
    await checkStore(root);
    const run = await polyarch(['run', '--rm', 'slow', 'cat', '/slow'], { root });
    assert.equal(run.stdout, 'slow\n', run.stderr);
  });

  test('bad filters and sizes: one message, exit 1, nothing removed', async () => {
    const root = tempDir();
    assert.equal((await polyarch(['build', context(['RUN echo b > /b'])], { root })).code, 0);
    const before = storeState(root);
    const cases: [string[], RegExp][] = [
      [['prune', '-f', '--filter', 'until=soon'], /^ERROR: "until" filter expects a duration/],
      [['prune', '-f', '--filter', 'until'], /^ERROR: bad format of filter "until"/],
      [['prune', '-f', '--filter', 'color=red'], /^ERROR: invalid filter "color=red": unknown key "color"/],
      [
        ['prune', '-f', '--keep-storage', '12QB'],
        /^ERROR: invalid argument "12QB" for "--keep-storage" flag/,
      ],
      [['du', '--filter', 'until=1x'], /^ERROR: "until" filter expects a duration/],
    ];
    for (const [args, want] of cases) {
      const r = await polyarch(args, { root });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('ERROR')).length, 1);
      assert.equal(r.stdout, '');
      assert.equal(storeState(root), before, args.join(' '));
    }
  });
});
