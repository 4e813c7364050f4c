#!/usr/bin/env node
// bench/compression.mjs — what layer compression costs at export: the layers of the fixture
// golang:1.23 image (the base of seed-hello-xx) for two platforms (--platforms; about 245 MB
// of tar in 2 layers each, one of them 240 MB), as a multi-platform export with
// force-compression meets them, decompressed once to tar files, then compressed the ways an
// export can:
//
//   gzip-1 in this thread, one layer after another   (the export path before worker threads)
//   gzip-1 in the worker pool, all layers at once    (the export path now)
//   gzip-6 in the worker pool                         (BuildKit's default level)
//   zstd-3 in the worker pool, and in this thread     (compression=zstd, BuildKit's default level)
//
// Each row is the wall time of compressing every layer (tar read from disk, blob written to
// /dev/null through the same Compressor seam the exporter uses; median of --runs, default 1)
// and the total blob size; ratios are against the first row. Needs the fixture registry and
// skopeo; uses dist/ (run `npm run build` first).
//
//   node bench/compression.mjs [--runs N] [--pool N] [--platforms linux/amd64,linux/arm64,linux/arm/v7]
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ensure, median, opt, repo } from './lib.mjs';

const { CompressPool, InThreadCompressor } = await import(join(repo, 'dist/src/compress/index.js'));

const runs = Number(opt('--runs', '1'));
const poolSize = Number(opt('--pool', String(availableParallelism())));
const platforms = opt('--platforms', 'linux/amd64,linux/arm64').split(',');
ensure(['skopeo']);

const work = mkdtempSync(join(tmpdir(), 'bench-compression-'));
try {
  const tars = [];
  for (const platform of platforms) {
    const [os, arch, variant] = platform.split('/');
    const dir = join(work, 'oci');
    execFileSync('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      '--override-os',
      os,
      '--override-arch',
      arch,
      ...(variant ? ['--override-variant', variant] : []),
      'docker://localhost:5000/golang:1.23',
      `oci:${dir}:g`,
    ]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const blob = (d) => join(dir, 'blobs', 'sha256', d.slice(7));
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
    for (const l of manifest.layers) {
      const p = join(work, `layer${tars.length}.tar`);
      writeFileSync(p, gunzipSync(readFileSync(blob(l.digest))));
      tars.push(p);
    }
    rmSync(dir, { recursive: true });
  }
  const tarBytes = tars.reduce((n, p) => n + statSync(p).size, 0);

  const one = (c, p, spec) =>
    c.compress(createReadStream(p, { highWaterMark: 256 * 1024 }), spec, createWriteStream('/dev/null'));
  const ways = [
    [
      'gzip-1, this thread, in turn',
      async (c) => {
        const out = [];
        for (const p of tars) out.push(await one(c.local, p, { type: 'gzip' }));
        return out;
      },
    ],
    [
      'gzip-1, worker pool, all at once',
      (c) => Promise.all(tars.map((p) => one(c.pool, p, { type: 'gzip' }))),
    ],
    [
      'gzip-6, worker pool, all at once',
      (c) => Promise.all(tars.map((p) => one(c.pool, p, { type: 'gzip', level: 6 }))),
    ],
    [
      'zstd-3, worker pool, all at once',
      (c) => Promise.all(tars.map((p) => one(c.pool, p, { type: 'zstd' }))),
    ],
    [
      'zstd-3, this thread, in turn',
      async (c) => {
        const out = [];
        for (const p of tars) out.push(await one(c.local, p, { type: 'zstd' }));
        return out;
      },
    ],
  ];
  const pool = new CompressPool({ size: poolSize });
  const c = { local: new InThreadCompressor(), pool };
  const rows = [];
  for (const [label, run] of ways) {
    const times = [];
    let size = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const tallies = await run(c);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      size = tallies.reduce((n, t) => n + t.size, 0);
    }
    rows.push({ label, s: median(times), size });
  }
  await pool.close();
  const mb = (n) => (n / 1e6).toFixed(1);
  console.log(
    `golang:1.23 ${platforms.join(',')}: ${tars.length} layers, ${mb(tarBytes)} MB of tar; pool of ${poolSize} threads; ${runs} run(s)`,
  );
  console.log('| compression | time (s) | × first | blobs (MB) | × first |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.s.toFixed(2)} | ${(r.s / rows[0].s).toFixed(2)} | ${mb(r.size)} | ${(r.size / rows[0].size).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
