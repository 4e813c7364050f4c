/**
 * test/helpers/fixtures — the shared fixtures (../shared/fixtures) for integration tests:
 * the real registry on 127.0.0.1:5000 and the multi-platform base images pushed to it.
 *
 * Tests call `ensureRegistry()` / `ensureBaseImages()`; both are idempotent and cheap once
 * done. `tempRoot()` gives a fresh polyarch root directory removed after the test file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
/** localhost:5000/busybox:1.35 (7 platforms) and localhost:5000/golang:1.23 (3 platforms). */
export function ensureBaseImages(): void {
  if (baseImages) return;
  ensureRegistry();
  execFileSync(join(fixturesDir, 'base-images.sh'), [], { stdio: ['ignore', 'ignore', 'inherit'] });
  baseImages = true;
}

/** A fresh directory under /tmp (or $TMPDIR); removed when the process exits. */
export function tempDir(prefix = 'polyarch-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a mount left behind by a failed test; leave the directory
    }
  });
  return dir;
}

/** The compiled CLI entry. */
export const polyarchBin = join(repoRoot, 'bin', 'polyarch');

export function haveCommand(cmd: string): boolean {
  return ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, cmd)));
}
