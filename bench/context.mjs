#!/usr/bin/env node
// bench/context.mjs — a big build context: --files files (default 100,000; about 1.6 KB each,
// 160 MB in all, 100 per directory) generated here, built with
//
//   FROM localhost:5000/busybox:1.35
//   COPY . /app
//   RUN find /app -type f | wc -l > /count
//
// cold (empty store and cache), with nothing changed (the process start included), and after
// editing one file; linux/amd64, by polyarch, buildah and Debian dockerd's built-in BuildKit in
// the same run, the tools taking turns (a run of each per round). Medians of --runs (default 3);
// polyarch's own peak RSS.
//
//   node bench/context.mjs [--files N] [--runs N] [--skip-buildah] [--skip-buildkit]
//
// Needs root, ../shared/fixtures (the registry and base images), a built tree (`npm run build`).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  benchBuildah,
  benchBuildkit,
  benchPolyarch,
  ensure,
  flag,
  interleaved,
  opt,
  phaseRows,
  report,
} from './lib.mjs';

const files = Number(opt('--files', '100000'));
const runs = Number(opt('--runs', '3'));
const skipBuildah = flag('--skip-buildah');
const skipBuildkit = flag('--skip-buildkit');
const platform = 'linux/amd64';

/** The context: files of pseudo-random text (deterministic), 100 to a directory. */
function generate() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-context-src-'));
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM localhost:5000/busybox:1.35\nCOPY . /app\nRUN find /app -type f | wc -l > /count\n',
  );
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 \n';
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${Math.floor(i / 10000)}`, `e${Math.floor(i / 100) % 100}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    const size = 600 + (rand() % 2000);
    let text = '';
    for (let c = 0; c < size; c++) text += alphabet[rand() % alphabet.length];
    writeFileSync(join(sub, `f${i}.txt`), text);
  }
  return dir;
}

function edit(ctx) {
  writeFileSync(join(ctx, 'd0', 'e0', 'f0.txt'), `edited ${Date.now()}\n`);
}

async function main() {
  ensure([...(skipBuildah ? [] : ['buildah']), ...(skipBuildkit ? [] : ['docker.io'])]);
  console.error(`generating ${files} files`);
  const src = generate();
  try {
    const label = `${files} files`;
    const [p, b, k] = await interleaved(runs, [
      (round) =>
        benchPolyarch(src, `${label} ${round}`, 1, ['--platform', platform, '-t', 'bench/context'], edit),
      skipBuildah ? undefined : (round) => benchBuildah(src, `${label} ${round}`, 1, platform, edit),
      skipBuildkit ? undefined : (round) => benchBuildkit(src, `${label} ${round}`, 1, platform, edit),
    ]);
    const rows = phaseRows(`${files} files`, platform, p, b, k);
    report(rows, runs);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
