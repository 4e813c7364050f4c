/**
 * test/helpers/fixtures — the shared fixtures (../shared/fixtures) for integration tests:
 * the real registry on 127.0.0.1:5000 and the multi-platform base images pushed to it.
 *
 * Tests call `ensureRegistry()` / `ensureBaseImages()`; both are idempotent and cheap once
 * done. `tempRoot()` gives a fresh polyarch root directory removed after the test file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (dist/test/helpers → ../../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** ../shared, or $POLYARCH_SHARED. */
export const sharedDir = process.env.POLYARCH_SHARED ?? resolve(repoRoot, '../shared');
export const fixturesDir = join(sharedDir, 'fixtures');
export const registryHost = 'localhost:5000';

let registryUp = false;
export function ensureRegistry(): void {
  if (registryUp) return;
  execFileSync(join(fixturesDir, 'registry.sh'), ['start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  registryUp = true;
}

let baseImages = false;
/**
 * localhost:5000/busybox:1.35 (7 platforms) and localhost:5000/golang:1.23 (3 platforms).
 *
 * base-images.sh lists busybox's applets by running each platform's busybox, so QEMU handlers
 * must be registered first: without them it makes foreign images with only /bin/busybox (no
 * /bin/sh), and caches that. Such a cached layout is detected and rebuilt.
 */
export function ensureBaseImages(): void {
  if (baseImages) return;
  ensureRegistry();
  execFileSync(polyarchBin, ['emulators', 'install', 'all'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const work = process.env.FIXTURE_WORK ?? '/var/tmp/fixture-base-images';
  const run = () =>
    execFileSync(join(fixturesDir, 'base-images.sh'), [], { stdio: ['ignore', 'ignore', 'inherit'] });
  run();
  if (!foreignBusyboxHasApplets(work)) {
    rmSync(join(work, 'oci'), { recursive: true, force: true });
    run();
  }
  baseImages = true;
}

/** True when the arm64 busybox layer of the fixture layout has its applet links (bin/sh). */
function foreignBusyboxHasApplets(work: string): boolean {
  try {
    const layers = readFileSync(join(work, 'oci', 'busybox', 'layers'), 'utf8');
    const line = layers.split('\n').find((l) => l.startsWith('arm64 '));
    if (!line) return false;
    const digest = line.split(' ')[1]!.slice('sha256:'.length);
    const list = execFileSync('tar', ['-tzf', join(work, 'oci', 'busybox', 'blobs', 'sha256', digest)], {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    return list.split('\n').includes('bin/sh');
  } catch {
    return false;
  }
}

/** A fresh directory under /tmp (or $TMPDIR); removed when the process exits. */
export function tempDir(prefix = 'polyarch-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (!tempDirs.size) process.once('exit', removeTempDirs);
  tempDirs.add(dir);
  return dir;
}

/** The directories tempDir made, removed by one exit listener (one per call hit MaxListeners). */
const tempDirs = new Set<string>();

function removeTempDirs(): void {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a mount left behind by a failed test; leave the directory
    }
  }
  tempDirs.clear();
}

/** The compiled CLI entry. */
export const polyarchBin = join(repoRoot, 'bin', 'polyarch');

export function haveCommand(cmd: string): boolean {
  return ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, cmd)));
}
