#!/usr/bin/env node
// bench/build.mjs — polyarch against buildah and BuildKit on the reference builds, all
// measured in the same run:
//
//   seed-hello     builder stage runs on each target platform (emulated for arm, arm64)
//   seed-hello-xx  builder stage on the build platform, cross-compiling (runs once)
//
// For each: a cold build (empty store and cache), a rebuild with nothing changed (including
// the client process start), and a rebuild after editing main.go; three platforms
// (linux/arm, linux/arm64, linux/amd64) for polyarch and buildah; and the same three phases
// for one platform (linux/arm64, emulated) for polyarch, buildah and BuildKit — Debian
// dockerd's built-in BuildKit (`DOCKER_BUILDKIT=1 /usr/bin/docker build`), which builds one
// platform per image; each of its cold runs gets a fresh engine (an empty cache). The tools take
// turns, a run of each per round, so load changes fall on all alike. Medians of
// --runs (default 3). Prints seconds, the ratios polyarch/buildah and polyarch/BuildKit, and
// polyarch's peak RSS.
//
//   node bench/build.mjs [--runs N] [--only seed-hello-xx] [--skip-buildah] [--skip-buildkit]
//                        [--one-platform] [--steps]
//
// --one-platform: only the rows of one platform (the ones with a BuildKit figure).
// --steps: then one more edit build each of polyarch and BuildKit, one platform, with plain
// progress, and their steps side by side: how much of an edit build is the user's own step
// (the `go build`), which bounds the ratio from below whatever polyarch does around it.
//
// Needs root, ../shared/fixtures (registry + base images are started/pushed here), a built
// tree (`npm run build`: dockerd is started with dist/test/helpers/dockerd.js), and installs
// buildah and docker.io with apt-get when missing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  benchBuildah,
  benchBuildkit,
  benchPolyarch,
  buildkitEditSteps,
  ensure,
  fixtures,
  flag,
  interleaved,
  median,
  opt,
  phaseRows,
  polyarch,
  polyarchEditSteps,
  report,
  sh,
} from './lib.mjs';

const platforms = 'linux/arm,linux/arm64,linux/amd64';
const onePlatform = 'linux/arm64';
const runs = Number(opt('--runs', '3'));
const only = opt('--only', undefined);
const skipBuildah = flag('--skip-buildah');
const skipBuildkit = flag('--skip-buildkit');
const steps = flag('--steps');
const onlyOnePlatform = flag('--one-platform');

function edit(dir) {
  const f = join(dir, 'main.go');
  writeFileSync(f, `${readFileSync(f, 'utf8')}\n// edited ${Date.now()}\n`);
}

async function main() {
  ensure([...(skipBuildah ? [] : ['buildah']), ...(skipBuildkit ? [] : ['docker.io'])]);
  sh(polyarch, ['emulators', 'install', 'linux/arm64', 'linux/arm']);
  const seeds = only ? [only] : ['seed-hello-xx', 'seed-hello'];
  const rows = [];
  const stepReports = [];
  for (const seed of seeds) {
    console.error(`${seed}:`);
    const src = join(fixtures, seed);
    for (const plats of onlyOnePlatform ? [onePlatform] : [platforms, onePlatform]) {
      const label = `${seed} ${plats}`;
      const [p, b, k] = await interleaved(runs, [
        (round) =>
          benchPolyarch(src, `${label} ${round}`, 1, ['--platform', plats, '-t', `bench/${seed}`], edit),
        skipBuildah ? undefined : (round) => benchBuildah(src, `${label} ${round}`, 1, plats, edit),
        skipBuildkit || plats !== onePlatform
          ? undefined
          : (round) => benchBuildkit(src, `${label} ${round}`, 1, plats, edit),
      ]);
      rows.push(...phaseRows(seed, plats, p, b, k));
      if (steps && k) stepReports.push({ seed, edit: k.edit, ...(await editSteps(src, plats)) });
    }
  }
  report(rows, runs);
  for (const r of stepReports) printSteps(r);
}

/** One more edit build each of polyarch and BuildKit, with plain progress: their steps. */
async function editSteps(src, plats) {
  console.error('edit build, step by step:');
  const p = await polyarchEditSteps(src, ['--platform', plats], edit);
  const k = await buildkitEditSteps(src, plats, edit);
  return { plats, p, k };
}

/**
 * The steps of the two edit builds side by side (by name, as both print them), and what the
 * longest step alone makes of the ratio: the floor no work of polyarch's own can go under.
 */
function printSteps({ seed, plats, edit: buildkitEdits, p, k }) {
  // a step by its stage, number and instruction: Debian's BuildKit names a RUN by the
  // command as written, polyarch (as BuildKit does now) with its build arguments expanded
  const keyOf = (step) => /^\[[^\]]*\] \S+/.exec(step)?.[0] ?? step;
  const secs = new Map();
  for (const [who, steps] of [
    ['p', p],
    ['k', k],
  ]) {
    for (const { step, secs: s } of steps) {
      const key = keyOf(step);
      const row = secs.get(key) ?? { step };
      row[who] = (row[who] ?? 0) + s;
      secs.set(key, row);
    }
  }
  const f = (x) => (x === undefined ? '-' : x.toFixed(1));
  console.log(`\n${seed} ${plats}, edit build step by step (plain progress, seconds):`);
  console.log(`${'step'.padEnd(72)}${'polyarch'.padStart(10)}${'BuildKit'.padStart(10)}`);
  for (const row of secs.values()) {
    if ((row.p ?? 0) < 0.05 && (row.k ?? 0) < 0.05) continue;
    console.log(`${row.step.slice(0, 70).padEnd(72)}${f(row.p).padStart(10)}${f(row.k).padStart(10)}`);
  }
  const longest = (steps) => Math.max(0, ...steps.map((x) => x.secs));
  const kEdit = median(buildkitEdits);
  console.log(
    `longest step: polyarch ${f(longest(p))} s, BuildKit ${f(longest(k))} s; BuildKit's edit build ${kEdit.toFixed(2)} s` +
      ` (median above): polyarch's longest step alone is ${(longest(p) / kEdit).toFixed(2)} of it`,
  );
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
