#!/usr/bin/env node
// bench/startup.mjs — what polyarch's process start costs, next to a bare `node -e 0` in the
// same run: commands that touch no registry (`version`, `ls`, `images`, `du`) should come
// within 30 ms of it (issue 13). Medians of --runs (default 21) whole processes.
//
//   node bench/startup.mjs [--runs N]
//
// Needs a built tree (`npm run build`). Runs against an empty store in a temporary root.
// The row `node ESM, one line` is Node's own share of what a CLI start costs beyond `node -e 0`
// (the ES module loader and a stdout stream), for reading the polyarch rows against.
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

function median(cmd, argv) {
  const times = [];
  for (let n = 0; n < runs; n++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

try {
  const base = median(process.execPath, ['-e', '0']);
  const floor = join(root, 'floor.mjs');
  writeFileSync(floor, "process.stdout.write('polyarch\\n');\n");
  const esm = median(process.execPath, [floor]);
  console.log(`runs per figure: ${runs} (medians), measured in this run`);
  console.log(`${'command'.padEnd(24)}${'ms'.padStart(8)}${'over node -e 0'.padStart(18)}`);
  console.log(`${'node -e 0'.padEnd(24)}${base.toFixed(0).padStart(8)}${'-'.padStart(18)}`);
  console.log(
    `${'node ESM, one line'.padEnd(24)}${esm.toFixed(0).padStart(8)}${`+${(esm - base).toFixed(0)}`.padStart(18)}`,
  );
  for (const argv of [['version'], ['ls'], ['images'], ['du'], ['build', '--help']]) {
    const ms = median(polyarch, argv);
    console.log(
      `${`polyarch ${argv.join(' ')}`.padEnd(24)}${ms.toFixed(0).padStart(8)}${`+${(ms - base).toFixed(0)}`.padStart(18)}`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
