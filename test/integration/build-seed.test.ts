/**
 * The reference end-to-end builds (../shared/fixtures/seed-hello and seed-hello-xx) on real
 * runc, overlayfs and QEMU: three platforms in one index, each platform's image run, the
 * cross-compiling builder stage shared by all targets, a no-change rebuild that runs nothing,
 * and a rebuild after an edit that re-runs only what depends on the edit.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch, readRawJSON, steps } from '../helpers/cli.js';
import { ensureBaseImages, fixturesDir, tempDir } from '../helpers/fixtures.js';
import { skopeo } from '../helpers/images.js';

const platforms = 'linux/arm,linux/arm64,linux/amd64';
const expected: Record<string, string> = {
  'linux/arm': 'Hello, arm!',
  'linux/arm64': 'Hello, arm64!',
  'linux/amd64': 'Hello, amd64!',
};

before(async () => {
  ensureBaseImages();
  const r = await polyarch(['emulators', 'install', 'linux/arm64', 'linux/arm']);
  assert.equal(r.code, 0, r.stderr);
});

async function buildAndRun(seed: string, name: string) {
  const root = tempDir();
  const ctx = join(tempDir(), seed);
  cpSync(join(fixturesDir, seed), ctx, { recursive: true });
  const build = () =>
    polyarch(['build', '--progress', 'rawjson', '--platform', platforms, '-t', name, ctx], { root });
  const cold = await build();
  assert.equal(cold.code, 0, cold.stderr.slice(-4000));
  for (const [platform, greeting] of Object.entries(expected)) {
    const r = await polyarch(['run', '--rm', '--platform', platform, name], { root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), greeting, `${platform}: ${r.stderr}`);
  }
  return { root, ctx, build, cold };
}

describe('seed-hello-xx (cross-compiling builder stage)', () => {
  let env: Awaited<ReturnType<typeof buildAndRun>>;
  test('builds three platforms, and each runs', async () => {
    env = await buildAndRun('seed-hello-xx', 'hello-go-arch-xx');
  });

  test('the $BUILDPLATFORM builder steps run once for all three targets', () => {
    const ran = steps(env.cold.stderr, /builder/).filter((s) => !s.cached);
    for (const step of ['RUN mkdir /app', 'ADD . /app/', 'WORKDIR /app', 'RUN go mod init example.com/m']) {
      assert.equal(
        ran.filter((s) => s.name.endsWith(step)).length,
        1,
        `${step} once: ${JSON.stringify(ran)}`,
      );
    }
    const gobuild = ran.filter((s) => s.name.includes('go build'));
    assert.deepEqual(gobuild.map((s) => s.name).sort(), [
      '[linux/amd64 builder 6/6] RUN GOOS=linux GOARCH=amd64 GOARM= go build -o hello .',
      '[linux/amd64->arm/v7 builder 6/6] RUN GOOS=linux GOARCH=arm GOARM=7 go build -o hello .',
      '[linux/amd64->arm64 builder 6/6] RUN GOOS=linux GOARCH=arm64 GOARM= go build -o hello .',
    ]);
  });

  test('a second identical build reports every step CACHED and runs nothing', async () => {
    const warm = await env.build();
    assert.equal(warm.code, 0, warm.stderr.slice(-4000));
    const { logs } = readRawJSON(warm.stderr);
    const run = steps(warm.stderr, /\] (RUN|COPY|ADD|WORKDIR) /);
    assert.ok(run.length >= 12, JSON.stringify(run));
    assert.deepEqual(
      run.filter((s) => !s.cached),
      [],
    );
    assert.equal(logs.size, 0, 'no step printed output');
  });

  test('after editing main.go only the steps from ADD . onward run again', async () => {
    const main = join(env.ctx, 'main.go');
    writeFileSync(main, `${readFileSync(main, 'utf8')}\n// edited\n`);
    const r = await env.build();
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const all = steps(r.stderr, /\] (RUN|COPY|ADD|WORKDIR) /);
    const ran = all.filter((s) => !s.cached).map((s) => s.name.replace(/^\[[^\]]*\] /, ''));
    const cached = all.filter((s) => s.cached).map((s) => s.name.replace(/^\[[^\]]*\] /, ''));
    assert.ok(!ran.includes('RUN mkdir /app'), JSON.stringify(all));
    assert.ok(cached.includes('RUN mkdir /app'), JSON.stringify(all));
    assert.ok(ran.includes('ADD . /app/'), JSON.stringify(all));
    assert.ok(ran.includes('RUN go mod init example.com/m'));
    assert.equal(ran.filter((n) => n.includes('go build')).length, 3);
    assert.equal(ran.filter((n) => n.startsWith('COPY --from=builder')).length, 3);
    // the builder's WORKDIR (after ADD) runs once; the final stages' WORKDIR stay cached
    assert.equal(ran.filter((n) => n === 'WORKDIR /app').length, 1);
    for (const [platform, greeting] of Object.entries(expected)) {
      const run = await polyarch(['run', '--rm', '--platform', platform, 'hello-go-arch-xx'], {
        root: env.root,
      });
      assert.equal(run.stdout.trim(), greeting);
    }
  });
});

describe('the buildx tutorial with seed-hello (builder stage emulated per platform)', () => {
  // docker buildx ls / version / create --use --name mybuilder / ls / build --push / build --load / run
  const root = tempDir();
  const ctx = join(tempDir(), 'seed-hello');
  cpSync(join(fixturesDir, 'seed-hello'), ctx, { recursive: true });
  const ref = `localhost:5000/tutorial-${process.pid}/hello-go-arch`;

  test('ls, version, create --use --name mybuilder, ls', async () => {
    const ls = await polyarch(['ls'], { root });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^NAME\/NODE\s+DRIVER\/ENDPOINT\s+STATUS\s+BUILDKIT\s+PLATFORMS\n/);
    assert.match(ls.stdout, /\ndefault\*/);
    assert.match((await polyarch(['version'], { root })).stdout, /^polyarch v\d+\.\d+\.\d+/);
    const create = await polyarch(['create', '--use', '--name', 'mybuilder'], { root });
    assert.equal(create.code, 0, create.stderr);
    assert.equal(create.stdout.trim(), 'mybuilder');
    const again = await polyarch(['ls'], { root });
    assert.match(again.stdout, /\nmybuilder\*/);
    assert.doesNotMatch(again.stdout, /\ndefault\*/);
  });

  test('a three-platform build with --push builds under emulation, and each platform runs', async () => {
    const r = await polyarch(
      ['build', '--progress', 'rawjson', '--platform', platforms, '--push', '-t', ref, ctx],
      { root },
    );
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const builds = steps(r.stderr, /RUN go build/).filter((s) => !s.cached);
    assert.deepEqual(builds.map((s) => s.name).sort(), [
      '[linux/amd64 builder 6/6] RUN go build -o hello .',
      '[linux/arm/v7 builder 6/6] RUN go build -o hello .',
      '[linux/arm64 builder 6/6] RUN go build -o hello .',
    ]);
    // the registry has the index with three platforms, as an independent client sees it
    const raw = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])) as {
      manifests: { platform: { architecture: string } }[];
    };
    assert.deepEqual(raw.manifests.map((m) => m.platform.architecture).sort(), ['amd64', 'arm', 'arm64']);
    for (const [platform, greeting] of Object.entries(expected)) {
      const run = await polyarch(['run', '--rm', '--platform', platform, ref], { root });
      assert.equal(run.stdout.trim(), greeting, `${platform}: ${run.stderr}`);
    }
  });

  test('--load --platform=linux/arm64 from the cache, then run prints Hello, arm64!', async () => {
    const r = await polyarch(
      ['build', '--progress', 'rawjson', '--load', '--platform=linux/arm64', '-t', 'hello-go-arch', ctx],
      {
        root,
      },
    );
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    assert.deepEqual(
      steps(r.stderr, /\] (RUN|COPY|ADD|WORKDIR) /).filter((s) => !s.cached),
      [],
      'everything came from the cache of the push build',
    );
    const run = await polyarch(['run', '--platform', 'linux/arm64', 'hello-go-arch'], { root });
    assert.equal(run.stdout.trim(), 'Hello, arm64!');
  });
});
