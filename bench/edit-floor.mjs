#!/usr/bin/env node
// bench/edit-floor.mjs — how much of an edit build of seed-hello-xx (linux/arm64) is the
// user's own compile, measured in one run, in rounds that take turns:
//
//   polyarch   an edit build (main.go edited) on a warm root, as bench/build.mjs's edit phase
//   BuildKit   the same on a warm engine (Debian dockerd 20.10's built-in BuildKit)
//   compile    the Dockerfile's `go build` alone: the same command, in a chroot of the builder
//              stage's file system (exported by polyarch), with no builder and no container
//
// It prints the medians; each builder's time outside its `go build` step (from its plain
// progress, to 0.1 s; the step's own container start and stop count as the step's); polyarch's
// edit build less the compile of the same round; and the floor of the ratio polyarch/BuildKit:
// compile/BuildKit, what a builder that took no time of its own would score. The order within
// a round rotates.
//
//   node bench/edit-floor.mjs [--runs N]
//
// Needs root, ../shared/fixtures (the registry and base images are started/pushed here),
// unshare and chroot (util-linux, coreutils), and a built tree (`npm run build`: dockerd is
// started with dist/test/helpers/dockerd.js); installs docker.io with apt-get when missing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensure, fixtures, median, opt, plainSteps, polyarch, repo, sh, timed, workspace } from './lib.mjs';

const platform = 'linux/arm64';
const runs = Number(opt('--runs', '7'));
const registry = 'localhost:5000';
const goArch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;

function edit(ctx) {
  const f = join(ctx, 'main.go');
  writeFileSync(f, `${readFileSync(f, 'utf8')}\n// edited ${Date.now()}\n`);
}

/** The Env of the golang base image's config for this machine's platform, from the registry. */
async function golangEnv() {
  const get = async (path, accept) => {
    const r = await fetch(`http://${registry}/v2/golang/${path}`, { headers: { accept } });
    if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
    return r.json();
  };
  const index = await get('manifests/1.23', 'application/vnd.oci.image.index.v1+json');
  const m = index.manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === goArch);
  const manifest = await get(`manifests/${m.digest}`, m.mediaType);
  const config = await get(`blobs/${manifest.config.digest}`, '*/*');
  return config.config.Env ?? [];
}

/**
 * The compile of one round: the seed's `go build` for linux/arm64 in /app of `rootfs` with the
 * edited main.go, its build cache and output removed first (as in a RUN step that runs again).
 * In its own mount namespace, so that /proc and /dev go with it.
 */
function compiler(rootfs, env) {
  const script = [
    `mkdir -p ${rootfs}/proc ${rootfs}/dev`,
    `mount -t proc proc ${rootfs}/proc`,
    `mount --rbind /dev ${rootfs}/dev`,
    `exec chroot ${rootfs} /usr/bin/env -i ${env.map((e) => `'${e}'`).join(' ')} HOME=/root /bin/sh -c 'cd /app && GOOS=linux GOARCH=arm64 GOARM= go build -o hello .'`,
  ].join(' && ');
  return async (ctx) => {
    copyFileSync(join(ctx, 'main.go'), join(rootfs, 'app', 'main.go'));
    for (const p of ['root/.cache/go-build', 'app/hello'])
      rmSync(join(rootfs, p), { recursive: true, force: true });
    spawnSync('sync');
    return (await timed('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script])).secs;
  };
}

async function main() {
  ensure(['docker.io']);
  sh(polyarch, ['emulators', 'install', platform]);
  const src = join(fixtures, 'seed-hello-xx');
  const { startDockerd, dockerCli } = await import(join(repo, 'dist/test/helpers/dockerd.js'));
  const { work, ctx } = workspace(src, 'edit-floor');
  const env = { POLYARCH_ROOT: join(work, 'root') };
  const rootfs = join(work, 'rootfs');
  const engine = await startDockerd({ netns: true, bridge: true });
  try {
    const pBuild = ['build', '--progress', 'plain', '--platform', platform, '-t', 'bench/edit-floor', ctx];
    const kEnv = { DOCKER_BUILDKIT: '1', DOCKER_CONFIG: join(work, 'docker-config') };
    const kBuild = [
      ...['-H', engine.tcpHost, 'build', '--progress=plain', '--platform', platform],
      ...['-t', 'bench-edit-floor', ctx],
    ];
    console.error('cold builds (untimed), and the builder stage exported for the compile');
    await timed(polyarch, pBuild, env);
    await timed(dockerCli, kBuild, kEnv);
    await timed(
      polyarch,
      ['build', '-q', '--platform', platform, '--target', 'builder', '-o', `type=local,dest=${rootfs}`, ctx],
      env,
    );
    const compile = compiler(rootfs, await golangEnv());
    const tools = [
      ['polyarch', () => outsideCompile(timed(polyarch, pBuild, env, { keepStderr: true }))],
      ['BuildKit', () => outsideCompile(timed(dockerCli, kBuild, kEnv, { keepStderr: true }))],
      ['compile', async () => ({ secs: await compile(ctx), outside: 0 })],
    ];
    const times = { polyarch: [], BuildKit: [], compile: [] };
    for (let i = 0; i < runs; i++) {
      edit(ctx);
      const order = [...tools.slice(i % 3), ...tools.slice(0, i % 3)];
      for (const [name, run] of order) {
        spawnSync('sync');
        times[name].push(await run());
      }
      const t = Object.fromEntries(order.map(([n]) => [n, times[n][i].secs.toFixed(2)]));
      console.error(`  round ${i + 1}: polyarch ${t.polyarch}, BuildKit ${t.BuildKit}, compile ${t.compile}`);
    }
    report(times);
  } finally {
    await engine.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** A build's seconds, and how many of them were outside its `go build` step. */
async function outsideCompile(run) {
  const { secs, stderr } = await run;
  const step = plainSteps(stderr).find((st) => / go build /.test(st.step));
  if (!step) throw new Error(`no go build step in the progress:\n${stderr.slice(-3000)}`);
  return { secs, outside: secs - step.secs };
}

function report(times) {
  const f = (x) => x.toFixed(2);
  const [p, k, c] = ['polyarch', 'BuildKit', 'compile'].map((n) => times[n].map((t) => t.secs));
  const outside = (n) => f(median(times[n].map((t) => t.outside)));
  const less = p.map((x, i) => x - c[i]);
  console.log(`runs per figure: ${p.length} (medians), all measured in this run`);
  console.log(`${platform} edit build: polyarch ${f(median(p))} s, BuildKit ${f(median(k))} s`);
  console.log(`the compile alone: ${f(median(c))} s`);
  console.log(
    `outside the go build step: polyarch ${outside('polyarch')} s, BuildKit ${outside('BuildKit')} s`,
  );
  console.log(`polyarch's edit build less the compile of the same round: ${f(median(less))} s`);
  console.log(
    `polyarch/BuildKit ${f(median(p) / median(k))}; floor compile/BuildKit ${f(median(c) / median(k))}`,
  );
  const perRound = (xs) => xs.map((x, i) => f(x / k[i])).join(', ');
  console.log(`per round, polyarch/BuildKit: ${perRound(p)}`);
  console.log(`per round, compile/BuildKit:  ${perRound(c)}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
