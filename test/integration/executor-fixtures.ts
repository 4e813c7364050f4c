/**
 * Root filesystems for executor and emulation tests, made without any polyarch part: skopeo
 * copies a platform of localhost:5000/busybox:1.35 to an OCI layout and umoci unpacks it. An
 * overlay over such a rootfs (mounted with mount(8)) shows which files a run changed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBaseImages, registryHost, tempDir } from '../helpers/fixtures.js';

const unpacked = new Map<string, string>();
let scratch: string | undefined;

/** A fresh directory under one per-process scratch directory (removed at exit). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(scratchRoot(), prefix));
}

function scratchRoot(): string {
  scratch ??= tempDir('polyarch-exec-');
  return scratch;
}

/** The unpacked rootfs of busybox:1.35 for `platform` (`linux/arm64`, `linux/arm/v7`, …), cached per process. */
export function busyboxRootfs(platform = 'linux/amd64'): string {
  const cached = unpacked.get(platform);
  if (cached) return cached;
  ensureBaseImages();
  const layout = join(scratchRoot(), 'images');
  mkdirSync(layout, { recursive: true });
  const [, arch, variant] = platform.split('/') as [string, string, string?];
  const tag = [arch, variant].filter(Boolean).join('-');
  execFileSync(
    'skopeo',
    [
      'copy',
      '-q',
      '--src-tls-verify=false',
      '--override-os',
      'linux',
      '--override-arch',
      arch,
      ...(variant ? ['--override-variant', variant] : []),
      `docker://${registryHost}/busybox:1.35`,
      `oci:${join(layout, 'oci')}:${tag}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const bundle = join(layout, `bundle-${tag}`);
  execFileSync('umoci', ['unpack', '--image', `${join(layout, 'oci')}:${tag}`, bundle], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const rootfs = join(bundle, 'rootfs');
  unpacked.set(platform, rootfs);
  return rootfs;
}

export interface Overlay {
  lower: string;
  upper: string;
  merged: string;
  unmount(): void;
}

/** Mounts an overlay with `lower` as its only lower layer, in a fresh temp directory. */
export function mountOverlay(lower: string): Overlay {
  const dir = scratchDir('ovl-');
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  const merged = join(dir, 'merged');
  for (const d of [upper, work, merged]) mkdirSync(d);
  execFileSync('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${lower},upperdir=${upper},workdir=${work}`,
    merged,
  ]);
  let mounted = true;
  return {
    lower,
    upper,
    merged,
    unmount() {
      if (mounted) execFileSync('umount', [merged]);
      mounted = false;
    },
  };
}

/** Every path under `dir`, relative, sorted (what an upper dir holds). */
export function listTree(dir: string): string[] {
  const out = execFileSync('find', [dir, '-mindepth', '1', '-printf', '%P\\n'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}
