/**
 * The buildx tutorial's builder commands end to end through `bin/polyarch`: ls, version,
 * create --use, a build on the new builder (named and current) whose cache lives under it,
 * inspect, rm; and every bad input exits 1 with one message and changes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch } from '../helpers/cli.js';
import { ensureBaseImages, registryHost, tempDir } from '../helpers/fixtures.js';

function records(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
}

/** Everything under the builder state (what a bad command must leave as it was). */
function snapshotOf(root: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      if (n === '.holds' || n === '.tmp') continue;
      const p = join(d, n);
      out.push(p);
      try {
        walk(p);
      } catch {
        out.push(readFileSync(p, 'utf8'));
      }
    }
  };
  if (existsSync(join(root, 'builders'))) walk(join(root, 'builders'));
  return out.join('\n');
}

describe('builder instances', () => {
  before(() => ensureBaseImages());

  test("the buildx tutorial's commands", async () => {
    const root = tempDir();
    const ctx = tempDir();
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${registryHost}/busybox:1.35\nRUN echo tutorial > /t\n`);

    const ls0 = await polyarch(['ls'], { root });
    assert.equal(ls0.code, 0, ls0.stderr);
    assert.match(ls0.stdout, /^NAME\/NODE +DRIVER\/ENDPOINT +STATUS +BUILDKIT +PLATFORMS\n/);
    assert.match(ls0.stdout, /^default\* +local/m);
    // BUILDKIT is the engine's version; the host's own platform comes first
    assert.match(ls0.stdout, / \\_ default +\\_ \S+ +running +v\d+\.\d+\.\d+ +linux\/amd64/);

    const version = await polyarch(['version'], { root });
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^polyarch v\d+\.\d+\.\d+/);

    const create = await polyarch(['create', '--use', '--name', 'mybuilder'], { root });
    assert.equal(create.code, 0, create.stderr);
    assert.equal(create.stdout, 'mybuilder\n');

    const ls1 = await polyarch(['ls'], { root });
    assert.match(ls1.stdout, /^mybuilder\* +local/m);
    assert.match(ls1.stdout, /^default +local/m);
    assert.match(ls1.stdout, / \\_ mybuilder0 +\\_ \S+\/builders\/mybuilder +inactive/);
    assert.ok(ls1.stdout.indexOf('mybuilder*') < ls1.stdout.indexOf('default'));

    const myCache = join(root, 'builders', 'mybuilder', 'cache', 'records');
    const named = await polyarch(['build', '--builder', 'mybuilder', '-t', 'tut1', ctx], { root });
    assert.equal(named.code, 0, named.stderr);
    assert.equal(records(myCache).length, 1);
    assert.equal(records(join(root, 'cache', 'records')).length, 0);

    // without --builder: the current one (mybuilder) — a cache hit there
    const current = await polyarch(['build', '--progress', 'plain', '-t', 'tut2', ctx], { root });
    assert.equal(current.code, 0, current.stderr);
    assert.match(current.stderr, /RUN echo tutorial > \/t\n#\d+ CACHED/);
    assert.equal(records(join(root, 'cache', 'records')).length, 0);

    // the default builder has its own cache: the step runs again there
    const dflt = await polyarch(['build', '--builder', 'default', '--progress', 'plain', ctx], { root });
    assert.equal(dflt.code, 0, dflt.stderr);
    assert.doesNotMatch(dflt.stderr, /RUN echo tutorial > \/t\n#\d+ CACHED/);
    assert.equal(records(join(root, 'cache', 'records')).length, 1);
    // BUILDX_BUILDER picks a builder too
    const env = await polyarch(['build', '--progress', 'plain', ctx], {
      root,
      env: { BUILDX_BUILDER: 'default' },
    });
    assert.match(env.stderr, /RUN echo tutorial > \/t\n#\d+ CACHED/);

    const inspect = await polyarch(['inspect', 'mybuilder'], { root });
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(
      inspect.stdout,
      /^Name: {10}mybuilder\nDriver: {8}local\nLast Activity: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\n\nNodes:\nName: {13}mybuilder0\nEndpoint: {9}\S+\nStatus: {11}running\nBuildKit version: v\d+\.\d+\.\d+\nPlatforms: {8}linux\/amd64, /,
    );
    assert.match(inspect.stdout, /\nLabels:\n org\.mobyproject\.buildkit\.worker\.executor: +oci\n/);

    const rm = await polyarch(['rm', 'mybuilder'], { root });
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stderr, 'mybuilder removed\n');
    assert.equal(existsSync(join(root, 'builders', 'mybuilder')), false);
    const ls2 = await polyarch(['ls'], { root });
    assert.doesNotMatch(ls2.stdout, /mybuilder/);
    assert.match(ls2.stdout, /^default\* /m);
    // the image built on the removed builder still runs, the store verifies
    const run = await polyarch(['run', '--rm', 'tut1', 'cat', '/t'], { root });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'tutorial\n');
    const check = await polyarch(['debug', 'check-store'], { root });
    assert.equal(check.code, 0, check.stdout);
  });

  test('create options: platforms, bootstrap, generated name, stop', async () => {
    const root = tempDir();
    const c = await polyarch(['create', '--platform', 'linux/arm64,linux/arm/v7', '--bootstrap'], { root });
    assert.equal(c.code, 0, c.stderr);
    const name = c.stdout.trim();
    assert.match(name, /^[a-z]+_[a-z]+$/);
    const ins = await polyarch(['inspect', name], { root });
    assert.match(ins.stdout, /Status: +running\n/);
    assert.match(ins.stdout, /Platforms: +linux\/arm64\*, linux\/arm\/v7\*, linux\/amd64, /);
    const ls = await polyarch(['ls'], { root });
    assert.match(ls.stdout, new RegExp(`\\\\_ ${name}0 .* running .* linux/arm64\\*, linux/arm\\* \\(\\+`));
    assert.equal((await polyarch(['stop', name], { root })).code, 0);
    assert.match((await polyarch(['inspect', name], { root })).stdout, /Status: +stopped\n/);
    assert.equal((await polyarch(['use', name], { root })).code, 0);
    assert.match((await polyarch(['ls'], { root })).stdout, new RegExp(`^${name}\\* `, 'm'));
    assert.equal((await polyarch(['use', 'default'], { root })).code, 0);
    assert.match((await polyarch(['ls'], { root })).stdout, /^default\* /m);
  });

  test('bad input: one message, exit 1, nothing changed', async () => {
    const root = tempDir();
    const ctx = tempDir();
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${registryHost}/busybox:1.35\n`);
    assert.equal((await polyarch(['create', '--name', 'keep', '--use'], { root })).code, 0);
    const before = snapshotOf(root);
    const cases: [string[], RegExp][] = [
      [['use', 'nosuch'], /^ERROR: no builder "nosuch" found\n$/],
      [['inspect', 'nosuch'], /^ERROR: no builder "nosuch" found\n$/],
      [['rm', 'nosuch'], /^ERROR: no builder "nosuch" found\n$/],
      [['rm', 'keep', 'nosuch'], /^ERROR: no builder "nosuch" found\n$/],
      [['stop', 'nosuch'], /^ERROR: no builder "nosuch" found\n$/],
      [['du', '--builder', 'nosuch'], /^ERROR: no builder "nosuch" found\n$/],
      [['prune', '-f', '--builder', 'nosuch'], /^ERROR: no builder "nosuch" found\n$/],
      [['build', '--builder', 'nosuch', ctx], /^ERROR: (failed to build: )?no builder "nosuch" found\n$/],
      [['rm', 'default'], /^ERROR: default is the built-in builder and cannot be removed\n$/],
      [['create', '--driver', 'docker-container'], /^ERROR: failed to find driver "docker-container"/],
      [['create', '--name', 'keep'], /^ERROR: existing instance for "keep"/],
      [['create', '--name', '9lives'], /^ERROR: invalid name 9lives, name needs to start with a letter/],
      [
        ['create', '--name', 'default'],
        /^ERROR: default is a reserved name and cannot be used to identify builder instance\n$/,
      ],
      [['create', '--append', '--node', 'x'], /^ERROR: append requires a builder name\n$/],
      [['create', '--append', '--name', 'nosuch'], /^ERROR: failed to find instance "nosuch" for append\n$/],
      [['create', '--leave', '--name', 'keep'], /^ERROR: leave requires node name but --node not set\n$/],
      [['create', '--leave', '--name', 'keep', '--node', 'keep0'], /^ERROR: can not leave last node/],
      [
        ['create', '--append', '--name', 'keep', '--node', 'two'],
        /^ERROR: builder "keep" already has a local node \(keep0\)/,
      ],
      [['create', '--driver', 'remote'], /^ERROR: no remote endpoint provided\n$/],
      [
        ['create', '--driver', 'remote', 'ssh://me@host'],
        /^ERROR: invalid remote endpoint "ssh:\/\/me@host": unsupported scheme "ssh"/,
      ],
      [
        ['create', '--driver', 'remote', '--driver-opt', 'image=x', 'tcp://h:1'],
        /^ERROR: invalid driver option image for remote driver\n$/,
      ],
      [
        ['create', '--platform', 'linux/nope/x/y'],
        /^ERROR: invalid platform "linux\/nope\/x\/y": expected os\[\/arch\[\/variant\]\]\n$/,
      ],
      [['create', 'tcp://x:1234'], /^ERROR: the local driver .* takes no endpoint/],
    ];
    for (const [args, want] of cases) {
      const r = await polyarch(args, { root });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want, args.join(' '));
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(snapshotOf(root), before, args.join(' '));
    }
  });
});
