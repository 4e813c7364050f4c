#!/usr/bin/env node
// bench/startup.mjs — what polyarch's process start costs, next to a bare `node -e 0` in the
// same run (rounds that start every command in turn, so load changes fall on all alike): commands that touch no registry (`version`, `ls`, `images`, `du`) should come
// within 30 ms of it (issue 13). Medians of --runs (default 21) whole processes.
//
//   node bench/startup.mjs [--runs N]
//
// Needs a built tree (`npm run build`). Runs against an empty store in a temporary root.
// The row `node, one-line script` is Node's own share of what a CLI start costs beyond
// `node -e 0` (loading a script file and a stdout stream), for reading the polyarch rows
// against; bin/polyarch and its bundle are CommonJS, as that script is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const polyarch = join(repo, 'bin', 'polyarch');
const i = process.argv.indexOf('--runs');
const runs = i >= 0 ? Number(process.argv[i + 1]) : 21;
const root = mkdtempSync(join(tmpdir(), 'bench-startup-'));
const env = { ...process.env, POLYARCH_ROOT: root };

/** Wall time of one whole process, in ms. */
function once(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Medians of `runs` rounds; each round starts every row once, in turn, so that a change in the
 * machine's load during the run falls on all rows alike rather than on whichever ran then.
 */
function medians(rows) {
  // what a build just before left to write back, and a first round that reads the files from
  // disk, would fall on the first rounds only (twice, a run right after `npm run build` put the
  // commands 10-18 ms further over node -e 0 than the run after it)
  spawnSync('sync', [], { stdio: 'ignore' });
  for (const row of rows) once(row.cmd, row.argv);
  const times = rows.map(() => []);
  for (let n = 0; n < runs; n++) {
    for (const [k, row] of rows.entries()) times[k].push(once(row.cmd, row.argv));
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

try {
  const floor = join(root, 'floor.cjs');
  writeFileSync(floor, "process.stdout.write('polyarch\\n');\n");
  const rows = [
    { label: 'node -e 0', cmd: process.execPath, argv: ['-e', '0'] },
    { label: 'node, one-line script', cmd: process.execPath, argv: [floor] },
    ...[['version'], ['ls'], ['images'], ['du'], ['build', '--help']].map((argv) => ({
      label: `polyarch ${argv.join(' ')}`,
      cmd: polyarch,
      argv,
    })),
  ];
  const ms = medians(rows);
  console.log(
    `runs per figure: ${runs} (medians of rounds that start every row in turn), measured in this run`,
  );
  console.log(`${'command'.padEnd(24)}${'ms'.padStart(8)}${'over node -e 0'.padStart(18)}`);
  rows.forEach((row, k) => {
    const over = k === 0 ? '-' : `${ms[k] - ms[0] >= 0 ? '+' : ''}${(ms[k] - ms[0]).toFixed(0)}`;
    console.log(`${row.label.padEnd(24)}${ms[k].toFixed(0).padStart(8)}${over.padStart(18)}`);
  });
} finally {
  rmSync(root, { recursive: true, force: true });
}
