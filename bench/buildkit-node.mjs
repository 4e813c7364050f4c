#!/usr/bin/env node
// bench/buildkit-node.mjs — polyarch driving a BuildKit daemon against buildx driving the same
// daemon, in one run: a cold three-platform `--push` of ../shared/fixtures/seed-hello-xx
// (linux/amd64, linux/arm64, linux/arm/v7). Cold means a daemon with an empty cache: each run
// gets a fresh daemon (a fresh data root).
//
//   node bench/buildkit-node.mjs [--runs N] [--buildkitd PATH] [--buildx PATH]
//
// The daemons:
//   - a standalone buildkitd (v0.24) when one is found (--buildkitd, $BUILDKITD, or on PATH):
//     polyarch uses its remote driver, buildx its remote driver, on the same daemon;
//   - otherwise Debian's dockerd (its built-in BuildKit): polyarch's docker driver only —
//     buildx cannot push a multi-platform image through the docker driver of dockerd 20.10,
//     and no buildx binary may be present; the script says so and prints polyarch's figures
//     without a ratio.
// Prints medians in seconds and the ratio polyarch/buildx (≤ 1.0 is the goal). Needs root,
// ../shared/fixtures (the registry and base images are started/pushed here) and a built tree
// (`npm run build`: it uses dist/test/helpers/dockerd.js to start dockerd).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtures, median, opt, polyarch, repo, timed as timedRun } from './lib.mjs';

const platforms = 'linux/amd64,linux/arm64,linux/arm/v7';
const runs = Number(opt('--runs', '3'));

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const buildkitd = opt('--buildkitd', process.env.BUILDKITD ?? which('buildkitd'));
const buildxCandidates = [
  opt('--buildx', process.env.BUILDX),
  which('docker-buildx'),
  '/usr/libexec/docker/cli-plugins/docker-buildx',
  join(process.env.HOME ?? '/root', '.docker/cli-plugins/docker-buildx'),
];
const buildx = buildxCandidates.find((p) => p && existsSync(p));

/** A command's seconds. */
const timed = async (cmd, argv, env) => (await timedRun(cmd, argv, env)).secs;

/** A fresh buildkitd on a unix socket; resolves when it answers. */
async function startBuildkitd() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bkd-'));
  const sock = join(dir, 'buildkitd.sock');
  const child = spawn(buildkitd, ['--root', join(dir, 'root'), '--addr', `unix://${sock}`], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    address: `unix://${sock}`,
    stop: () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startEngine() {
  const { startDockerd } = await import(join(repo, 'dist/test/helpers/dockerd.js'));
  const d = await startDockerd({ netns: true, bridge: true });
  return { address: d.tcpHost, stop: () => d.stop() };
}

async function main() {
  execFileSync(join(fixtures, 'registry.sh'), ['start'], { stdio: 'inherit' });
  execFileSync(join(fixtures, 'base-images.sh'), [], { stdio: 'inherit' });
  const ctx = join(mkdtempSync(join(tmpdir(), 'bench-bk-ctx-')), 'seed-hello-xx');
  cpSync(join(fixtures, 'seed-hello-xx'), ctx, { recursive: true });
  const standalone = buildkitd !== undefined;
  if (!standalone)
    console.log("no buildkitd found (--buildkitd, $BUILDKITD, PATH): using Debian dockerd's BuildKit");
  const compare = standalone && buildx !== undefined;
  if (!compare) {
    console.log(
      buildx === undefined
        ? 'no buildx binary found (--buildx, $BUILDX, docker-buildx): polyarch is timed alone, no ratio'
        : 'buildx needs a standalone buildkitd here: polyarch is timed alone, no ratio',
    );
  }
  const times = { polyarch: [], buildx: [] };
  for (let i = 0; i < runs; i++) {
    for (const who of compare ? ['polyarch', 'buildx'] : ['polyarch']) {
      const daemon = standalone ? await startBuildkitd() : await startEngine();
      const root = mkdtempSync(join(tmpdir(), 'bench-bk-root-'));
      const tag = `localhost:5000/bench-bk-${who}:${Date.now()}`;
      try {
        // the same commands for both: a builder on the daemon, then the timed build
        const bin = who === 'polyarch' ? polyarch : buildx;
        const env = who === 'polyarch' ? { POLYARCH_ROOT: root } : { DOCKER_CONFIG: root };
        const driver = standalone ? 'remote' : 'docker';
        execFileSync(bin, ['create', '--name', 'bench', '--driver', driver, daemon.address], {
          env: { ...process.env, ...env },
        });
        const build = ['build', '--builder', 'bench', '--progress', 'quiet', '--platform', platforms];
        times[who].push(await timed(bin, [...build, '-t', tag, '--push', ctx], env));
      } finally {
        await daemon.stop();
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
  const p = median(times.polyarch);
  console.log(
    `\ncold three-platform --push of seed-hello-xx on ${standalone ? 'buildkitd' : "dockerd's BuildKit"}, median of ${runs}`,
  );
  console.log(`polyarch  ${p.toFixed(2)} s`);
  if (compare) {
    const b = median(times.buildx);
    console.log(`buildx    ${b.toFixed(2)} s`);
    console.log(`ratio     ${(p / b).toFixed(2)} (polyarch / buildx, same daemon, same run)`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
