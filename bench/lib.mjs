// bench/lib.mjs — what the benchmarks share: paths, options, installing and starting the
// peers (buildah, Debian dockerd's BuildKit), timing a whole process with polyarch's own peak
// RSS, medians, and each tool's cold / no-change / edit phases.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const shared = process.env.POLYARCH_SHARED ?? resolve(repo, '../shared');
export const fixtures = join(shared, 'fixtures');
export const polyarch = join(repo, 'bin', 'polyarch');
export const phases = ['cold', 'noop', 'edit'];

const args = process.argv.slice(2);
/** `--name value` from the command line, or `dflt`. */
export const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
export const flag = (name) => args.includes(name);

export function sh(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], ...opts }).toString();
}

/** Installs the Debian packages missing of `packages`; starts the registry, pushes the base images. */
export function ensure(packages) {
  const missing = packages.filter(
    (p) =>
      spawnSync('dpkg-query', ['-W', '-f=' + '${' + 'Status}', p])
        .stdout?.toString()
        .includes('ok installed') !== true,
  );
  if (missing.length) {
    console.error(`installing ${missing.join(' ')}`);
    sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  sh(join(fixtures, 'registry.sh'), ['start']);
  sh(join(fixtures, 'base-images.sh'), []);
}

/**
 * Ctrl-C (or SIGTERM): the tool being timed is stopped, its run fails, and the `finally` blocks
 * stop the engines (their network namespaces, their directories) and remove the workspaces, as
 * Node's default (leaving at once) would not. A second one leaves at once.
 */
const timedNow = new Set();
let interrupted = false;
function interrupt(sig) {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error(`\n${sig}: stopping; cleaning up (again to leave at once)`);
  for (const child of timedNow) child.kill('SIGINT');
}
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

/**
 * Runs a command; answers wall seconds and, for polyarch, its own peak RSS in kB (what it
 * reports through POLYARCH_PEAK_RSS_FILE: runc and the compilers it starts are not counted),
 * and with `keepStderr` all it printed on stderr (where progress goes).
 * Asynchronous: the registry bridge into an engine's network namespace is served by this process.
 */
export function timed(cmd, argv, env = {}, { keepStderr = false } = {}) {
  const rssFile = join(tmpdir(), `bench-rss-${process.pid}`);
  rmSync(rssFile, { force: true });
  return new Promise((resolveRun, reject) => {
    if (interrupted) {
      reject(new Error('interrupted'));
      return;
    }
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, {
      env: { ...process.env, ...env, POLYARCH_PEAK_RSS_FILE: rssFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    timedNow.add(child);
    let err = '';
    child.stderr.on('data', (c) => {
      err += c.toString();
      if (!keepStderr) err = err.slice(-8000);
    });
    child.on('close', (code) => {
      timedNow.delete(child);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) {
        console.error(err.split('\n').slice(-40).join('\n'));
        reject(new Error(`${cmd} ${argv.join(' ')} failed with ${code}`));
        return;
      }
      const rss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : 0;
      resolveRun({ secs, rssKB: rss, ...(keepStderr ? { stderr: err } : {}) });
    });
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : Number.NaN;
};

/** A work directory with a copy of `src` as its `ctx`. */
export function workspace(src, who) {
  const work = mkdtempSync(join(tmpdir(), `bench-${who}-`));
  const ctx = join(work, 'ctx');
  cpSync(src, ctx, { recursive: true });
  return { work, ctx };
}

/**
 * Writes out what earlier runs left dirty (and the discards of the workspaces they removed)
 * before a timed run starts. Without it a run pays for the one before it: on this machine's
 * ext4 (mounted `discard`), creating the 13,000 files of the golang image took from 0.4 to
 * 4.2 s depending on what was still being written back.
 */
function settleDisk() {
  spawnSync('sync', [], { stdio: 'ignore' });
}

/** cold, noop, edit for one tool: `edit(ctx)` before the last, `run()` times each. */
export async function threePhases(label, ctx, edit, run) {
  const out = { cold: [], noop: [], edit: [], rss: 0 };
  for (const phase of phases) {
    if (phase === 'edit') edit(ctx);
    settleDisk();
    const r = await run(phase);
    out[phase].push(r.secs);
    out.rss = Math.max(out.rss, r.rssKB ?? 0);
    const rss = r.rssKB ? `, ${(r.rssKB / 1024).toFixed(0)} MB` : '';
    console.error(`  ${label} ${phase}: ${r.secs.toFixed(2)}s${rss}`);
  }
  return out;
}

export const emptyTimes = () => ({ cold: [], noop: [], edit: [], rss: 0 });

export function merge(into, from) {
  for (const phase of phases) into[phase].push(...from[phase]);
  into.rss = Math.max(into.rss, from.rss);
}

/**
 * Runs the tools in rounds: round i runs each tool's cold / no-change / edit once, in turn, so
 * that a change of the machine's load during the benchmark falls on every tool alike instead of
 * on whichever was being timed then. `tools` are functions of (label suffix) that bench one run
 * (undefined to skip a tool); the answer has each one's merged times, in order.
 */
export async function interleaved(runs, tools) {
  const out = tools.map((t) => (t ? emptyTimes() : undefined));
  for (let i = 0; i < runs; i++) {
    for (const [k, tool] of tools.entries()) if (tool) merge(out[k], await tool(`round ${i + 1}`));
  }
  return out;
}

/** The three phases of polyarch building `src` `runs` times, each on a fresh root. */
export async function benchPolyarch(src, label, runs, buildArgs, edit) {
  const all = emptyTimes();
  for (let i = 0; i < runs; i++) {
    const { work, ctx } = workspace(src, 'polyarch');
    const env = { POLYARCH_ROOT: join(work, 'root') };
    const build = ['build', '--progress', 'quiet', ...buildArgs, ctx];
    try {
      merge(
        all,
        await threePhases(`polyarch ${label} #${i + 1}`, ctx, edit, () => timed(polyarch, build, env)),
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return all;
}

/** The same with buildah, each run on a fresh storage root. */
export async function benchBuildah(src, label, runs, platforms, edit) {
  const all = emptyTimes();
  for (let i = 0; i < runs; i++) {
    const { work, ctx } = workspace(src, 'buildah');
    const store = ['--root', join(work, 'storage'), '--runroot', join(work, 'run')];
    const build = [
      ...store,
      'build',
      '--runtime',
      'runc',
      '--tls-verify=false',
      '--platform',
      platforms,
      '--manifest',
      `bench-${process.pid}-${i}`,
      '--layers',
      ctx,
    ];
    try {
      merge(all, await threePhases(`buildah ${label} #${i + 1}`, ctx, edit, () => timed('buildah', build)));
    } finally {
      spawnSync('buildah', [...store, 'rm', '--all'], { stdio: 'ignore' });
      spawnSync('umount', ['-R', join(work, 'storage')], { stdio: 'ignore' });
      rmSync(work, { recursive: true, force: true });
    }
  }
  return all;
}

/**
 * A build's steps from its plain progress (polyarch prints BuildKit's format): each step's
 * name, the first line printed for its number, and its seconds (`#N DONE 8.2s`; a cached step
 * has none). In the order they finished.
 */
export function plainSteps(text) {
  const names = new Map();
  const steps = [];
  for (const line of text.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, n, rest] = m;
    if (!names.has(n)) names.set(n, rest);
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest);
    if (done) steps.push({ step: names.get(n), secs: Number(done[1]) });
  }
  return steps;
}

/**
 * polyarch's steps in an edit build: a cold build, the edit, and the build again with plain
 * progress, on a fresh root. Apart from the timed phases (printing progress costs a little).
 */
export async function polyarchEditSteps(src, buildArgs, edit) {
  const { work, ctx } = workspace(src, 'polyarch-steps');
  try {
    const env = { POLYARCH_ROOT: join(work, 'root') };
    const build = (progress) =>
      timed(polyarch, ['build', '--progress', progress, ...buildArgs, ctx], env, { keepStderr: true });
    await build('quiet');
    edit(ctx);
    settleDisk();
    return plainSteps((await build('plain')).stderr);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The same with Debian dockerd's BuildKit, on a fresh engine. */
export async function buildkitEditSteps(src, platform, edit) {
  const { startDockerd, dockerCli } = await import(join(repo, 'dist/test/helpers/dockerd.js'));
  const { work, ctx } = workspace(src, 'buildkit-steps');
  const engine = await startDockerd({ netns: true, bridge: true });
  try {
    const env = { DOCKER_BUILDKIT: '1', DOCKER_CONFIG: join(work, 'docker-config') };
    const build = (progress) =>
      timed(dockerCli, ['-H', engine.tcpHost, 'build', progress, '--platform', platform, ctx], env, {
        keepStderr: true,
      });
    await build('-q');
    edit(ctx);
    settleDisk();
    return plainSteps((await build('--progress=plain')).stderr);
  } finally {
    await engine.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The same with Debian dockerd's built-in BuildKit (`DOCKER_BUILDKIT=1 docker build`), one
 * platform: a fresh engine per run, so that cold is cold. Needs a built tree (`npm run build`:
 * dockerd is started with dist/test/helpers/dockerd.js).
 */
export async function benchBuildkit(src, label, runs, platform, edit) {
  const { startDockerd, dockerCli } = await import(join(repo, 'dist/test/helpers/dockerd.js'));
  const all = emptyTimes();
  for (let i = 0; i < runs; i++) {
    const { work, ctx } = workspace(src, 'buildkit');
    const engine = await startDockerd({ netns: true, bridge: true });
    try {
      const build = [
        '-H',
        engine.tcpHost,
        'build',
        '-q',
        '--platform',
        platform,
        '-t',
        `bench-${process.pid}`,
        ctx,
      ];
      const env = { DOCKER_BUILDKIT: '1', DOCKER_CONFIG: join(work, 'docker-config') };
      merge(
        all,
        await threePhases(`BuildKit ${label} #${i + 1}`, ctx, edit, () => timed(dockerCli, build, env)),
      );
    } finally {
      await engine.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  return all;
}

/** A row per phase: the medians of polyarch (`p`), buildah (`b`) and BuildKit (`k`), when run. */
export function phaseRows(build, plats, p, b, k) {
  return phases.map((phase) => ({
    build,
    plats,
    phase,
    polyarch: median(p[phase]),
    buildah: b ? median(b[phase]) : Number.NaN,
    buildkit: k ? median(k[phase]) : Number.NaN,
    rssMB: p.rss / 1024,
  }));
}

/** Prints rows of {build, platforms, phase, polyarch, buildah, buildkit, rssMB} with ratios. */
export function report(rows, runs) {
  const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(2));
  console.log(`runs per figure: ${runs} (medians), all measured in this run`);
  const head = ['build', 'platforms', 'phase', 'polyarch s', 'buildah s', 'BuildKit s'];
  const ratios = ['polyarch/buildah', 'polyarch/BuildKit', 'peak RSS MB'];
  const widths = [16, 34, 6];
  console.log([...head, ...ratios].map((h, i) => (i < 3 ? h.padEnd(widths[i]) : h.padStart(18))).join(''));
  for (const r of rows) {
    console.log(
      [
        r.build.padEnd(widths[0]),
        r.plats.padEnd(widths[1]),
        r.phase.padEnd(widths[2]),
        f(r.polyarch).padStart(18),
        f(r.buildah).padStart(18),
        f(r.buildkit).padStart(18),
        f(r.polyarch / r.buildah).padStart(18),
        f(r.polyarch / r.buildkit).padStart(18),
        r.rssMB.toFixed(0).padStart(18),
      ].join(''),
    );
  }
}
