#!/usr/bin/env node
// bench/registry.mjs — push and pull a three-platform image with about 1 GiB of layers
// (random, incompressible; generated once and cached) to a local registry, with polyarch and
// with `skopeo copy`, in the same run; prints times, ratios (polyarch/skopeo) and peak RSS.
//
//   node bench/registry.mjs [--runs N] [--cache DIR]
//
// The image: linux/amd64, linux/arm64, linux/arm/v7; one 112 MiB layer shared by all three
// (it must move once) and two 152 MiB layers of each platform's own: 1024 MiB of distinct
// layers. Each measured operation gets a fresh registry (Debian's docker-registry on a free
// port, storage under the cache dir), so neither tool finds blobs already there.
//
//   push:  skopeo copy --all oci:<layout>:bench docker://…   vs  polyarch push …
//   pull:  skopeo copy --all docker://… oci:<dir>:x           vs  polyarch pull --all-platforms …
//
// Times are wall clock of the whole command (median of --runs, default 3; the tools take turns
// going first, and dirty pages are synced before each operation); peak RSS is
// `/usr/bin/time -v`'s maximum resident set size. Needs: docker-registry, skopeo, GNU time.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { median, opt, polyarch } from './lib.mjs';

const runs = Number(opt('--runs', '3'));
const cache = opt('--cache', '/var/tmp/polyarch-bench');
const MiB = 1024 * 1024;
const layout = join(cache, 'layout-v1');

// ------------------------------------------------------------------ the image, made once

/** A one-file tar of `size` random bytes, gzipped (stored blocks: it does not compress). */
async function writeLayer(path, size, seed) {
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  const gz = createGzip({ level: 0 });
  const out = createWriteStream(path);
  let gzSize = 0;
  gz.on('data', (c) => {
    gzHash.update(c);
    gzSize += c.length;
  });
  gz.pipe(out);
  const write = (b) => {
    tarHash.update(b);
    return gz.write(b) ? undefined : new Promise((r) => gz.once('drain', r));
  };
  const header = Buffer.alloc(512);
  header.write(`layer-${seed}.bin`, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  await write(header);
  const chunk = Buffer.alloc(MiB);
  for (let left = size; left > 0; left -= MiB) {
    randomFillSync(chunk);
    await write(left >= MiB ? chunk : chunk.subarray(0, left));
  }
  await write(Buffer.alloc(512 - (size % 512 || 512) + 1024));
  await new Promise((r) => {
    out.once('close', r);
    gz.end();
  });
  return {
    digest: `sha256:${gzHash.digest('hex')}`,
    size: gzSize,
    diffId: `sha256:${tarHash.digest('hex')}`,
  };
}

function putJSON(dir, obj) {
  const bytes = Buffer.from(JSON.stringify(obj));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

async function ensureImage() {
  if (existsSync(join(layout, 'index.json'))) return;
  const tmp = `${layout}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'blobs', 'sha256'), { recursive: true });
  console.error(`bench: generating 1 GiB of layers in ${layout} (once)`);
  const layer = async (size, seed) => {
    const path = join(tmp, 'blobs', `tmp-${seed}`);
    const l = await writeLayer(path, size, seed);
    renameSync(path, join(tmp, 'blobs', 'sha256', l.digest.slice(7)));
    return l;
  };
  const shared = await layer(112 * MiB, 'shared');
  const platforms = [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux' },
    { architecture: 'arm', os: 'linux', variant: 'v7' },
  ];
  const manifests = [];
  for (const p of platforms) {
    const own = [
      await layer(152 * MiB, `${p.architecture}-1`),
      await layer(152 * MiB, `${p.architecture}-2`),
    ];
    const layers = [shared, ...own];
    const config = putJSON(tmp, {
      ...p,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      config: {},
    });
    const manifest = putJSON(tmp, {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
    });
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: p });
  }
  const index = putJSON(tmp, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests,
  });
  writeFileSync(join(tmp, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(tmp, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          ...index,
          annotations: { 'org.opencontainers.image.ref.name': 'bench', 'io.containerd.image.name': 'bench' },
        },
      ],
    }),
  );
  rmSync(layout, { recursive: true, force: true });
  renameSync(tmp, layout);
}

// ------------------------------------------------------------------ helpers

function freePort() {
  return new Promise((r) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => r(port));
    });
  });
}

async function startRegistry() {
  const port = await freePort();
  const dir = join(cache, `registry-${port}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/v2/`);
      break;
    } catch {
      if (i === 200) {
        child.kill('SIGKILL');
        throw new Error(
          `bench: docker-registry did not answer on 127.0.0.1:${port} within 10 s (is it installed?)`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command under GNU time; answers seconds and peak RSS in MB. */
function timedRSS(cmd, cmdArgs, env = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSyncTime(cmd, cmdArgs, env);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  return { seconds, rssMB: m ? Number(m[1]) / 1024 : Number.NaN };
}

function spawnSyncTime(cmd, cmdArgs, env) {
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...cmdArgs], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed:\n${r.stderr}`);
  return { stderr: r.stderr };
}

function forgetSkopeoCache() {
  for (const f of [
    '/var/lib/containers/cache/blob-info-cache-v1.boltdb',
    join(process.env.HOME ?? '/root', '.local/share/containers/cache/blob-info-cache-v1.boltdb'),
  ]) {
    rmSync(f, { force: true });
  }
}

/** A polyarch root whose store holds the bench image (hard links into the layout) as `bench.local/bench:1`. */
function seedPolyarchRoot(root) {
  const content = join(root, 'content');
  mkdirSync(join(content, 'blobs', 'sha256'), { recursive: true });
  for (const f of readdirSync(join(layout, 'blobs', 'sha256'))) {
    linkSync(join(layout, 'blobs', 'sha256', f), join(content, 'blobs', 'sha256', f));
  }
  writeFileSync(join(content, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const name = 'bench.local/bench:1';
  idx.manifests[0].annotations = {
    'org.opencontainers.image.ref.name': name,
    'io.containerd.image.name': name,
  };
  writeFileSync(join(content, 'index.json'), JSON.stringify(idx));
  return name;
}

// ------------------------------------------------------------------ the runs

await ensureImage();
execFileSync('node', [polyarch, 'version'], { stdio: 'ignore' });
const results = {
  skopeo: { push: [], pull: [] },
  polyarch: { push: [], pull: [], pushRSS: [], pullRSS: [] },
};
const work = join(cache, 'work');
async function runSkopeo() {
  const reg = await startRegistry();
  forgetSkopeoCache();
  execFileSync('sync');
  const push = timedRSS('skopeo', [
    'copy',
    '-q',
    '--all',
    '--dest-tls-verify=false',
    `oci:${layout}:bench`,
    `docker://${reg.host}/bench/skopeo:1`,
  ]);
  forgetSkopeoCache();
  execFileSync('sync');
  const pull = timedRSS('skopeo', [
    'copy',
    '-q',
    '--all',
    '--src-tls-verify=false',
    `docker://${reg.host}/bench/skopeo:1`,
    `oci:${join(work, 'skopeo-pulled')}:x`,
  ]);
  results.skopeo.push.push(push.seconds);
  results.skopeo.pull.push(pull.seconds);
  await reg.stop();
}

async function runPolyarch() {
  const reg = await startRegistry();
  const root = join(work, 'polyarch-src');
  const name = seedPolyarchRoot(root);
  const dst = `${reg.host}/bench/polyarch:1`;
  execFileSync('node', [polyarch, 'tag', name, dst], { env: { ...process.env, POLYARCH_ROOT: root } });
  execFileSync('sync');
  const push = timedRSS('node', [polyarch, 'push', '-q', dst], { POLYARCH_ROOT: root });
  execFileSync('sync');
  const pull = timedRSS('node', [polyarch, 'pull', '-q', '--all-platforms', dst], {
    POLYARCH_ROOT: join(work, 'polyarch-dst'),
  });
  results.polyarch.push.push(push.seconds);
  results.polyarch.pull.push(pull.seconds);
  results.polyarch.pushRSS.push(push.rssMB);
  results.polyarch.pullRSS.push(pull.rssMB);
  await reg.stop();
}

for (let i = 0; i < runs; i++) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // alternate which tool goes first, so that neither always meets a warmer or colder machine
  if (i % 2 === 0) {
    await runSkopeo();
    await runPolyarch();
  } else {
    await runPolyarch();
    await runSkopeo();
  }
  console.error(
    `bench: run ${i + 1}/${runs}: push skopeo ${results.skopeo.push[i].toFixed(2)}s polyarch ${results.polyarch.push[i].toFixed(2)}s; ` +
      `pull skopeo ${results.skopeo.pull[i].toFixed(2)}s polyarch ${results.polyarch.pull[i].toFixed(2)}s`,
  );
}
rmSync(work, { recursive: true, force: true });

const row = (op) => {
  const s = median(results.skopeo[op]);
  const p = median(results.polyarch[op]);
  const rss = Math.max(...results.polyarch[`${op}RSS`]);
  return `${op.padEnd(6)} ${`${s.toFixed(2)}s`.padStart(8)} ${`${p.toFixed(2)}s`.padStart(9)} ${(p / s).toFixed(2).padStart(7)} ${`${rss.toFixed(0)} MB`.padStart(10)}`;
};
console.log(
  `registry bench: 3 platforms, 1024 MiB of distinct layers (one shared by all), median of ${runs} run(s)`,
);
console.log('op       skopeo  polyarch   ratio  peak RSS (polyarch)');
console.log(row('push'));
console.log(row('pull'));
