/**
 * emulation/check — can this host run a platform's binaries inside a container, and how:
 * natively, through a binfmt_misc handler (QEMU), or not at all, with the reason and the fix.
 *
 * The engine calls `checkPlatforms` before a build, so that a foreign platform without a working
 * emulator stops it with one clear EmulationError instead of an `exec format error` deep inside
 * a step. A handler is usable when it is enabled and has the F flag (the kernel opens the
 * interpreter at registration, so it works in containers whose root filesystem lacks it) and
 * its interpreter exists. An enabled handler that matches a platform is what the kernel uses
 * even for a platform the CPU runs natively, so it has to be usable too.
 *
 * `assessPlatform` is pure; `emulationReport` and `checkPlatforms` read binfmt_misc and the host.
 */
import { existsSync } from 'node:fs';
import { EmulationError } from '../../errors.js';
import type { Platform } from '../../oci/types.js';
import { formatPlatform, normalizePlatform, parsePlatform, samePlatform } from '../../platforms/index.js';
import { type BinfmtEntry, type BinfmtState, defaultBinfmtDir, matchesHeader, readBinfmt } from './binfmt.js';
import { detectHostInfo, type HostInfo, nativePlatforms } from './native.js';
import { elfHeader, elfIdentOf, platformElfHeader, qemuArchOf } from './qemu.js';

/** How one platform runs on this host. */
export interface PlatformSupport {
  /** canonical spelling: `linux/arm/v7` */
  platform: string;
  status: 'native' | 'emulated' | 'unavailable';
  /** the QEMU target that would emulate it (`aarch64`), when QEMU has one */
  qemu?: string;
  /** the enabled handlers the kernel would pick from for its binaries */
  handlers: BinfmtEntry[];
  /** why it cannot run, for `unavailable` */
  reason?: string;
}

export interface EmulationOptions {
  /** the binfmt_misc directory (default /proc/sys/fs/binfmt_misc) */
  binfmtDir?: string;
  /** mount binfmt_misc when it is not (default: only at the standard directory) */
  mount?: boolean;
  /** the host facts (default: detected) */
  host?: HostInfo;
  /** whether an interpreter path exists (default: on this filesystem) */
  interpreterExists?: (path: string) => boolean;
}

/** What is wrong with a handler, or undefined when it works inside containers. */
export function handlerProblem(
  h: BinfmtEntry,
  interpreterExists: (path: string) => boolean,
): string | undefined {
  if (!h.enabled) return `the binfmt_misc handler ${h.name} is disabled`;
  if (!h.flags.includes('F')) {
    return `the binfmt_misc handler ${h.name} (${h.interpreter}) lacks the F flag, so its interpreter cannot be found inside containers`;
  }
  if (!interpreterExists(h.interpreter)) {
    return `the binfmt_misc handler ${h.name} points to ${h.interpreter}, which does not exist`;
  }
  return undefined;
}

/** How `p` runs, given binfmt_misc's state and the host's native platforms. Pure. */
export function assessPlatform(
  p: Platform,
  state: BinfmtState,
  native: readonly Platform[],
  interpreterExists: (path: string) => boolean,
): PlatformSupport {
  const n = normalizePlatform(p);
  const platform = formatPlatform(n);
  const qemu = qemuArchOf(n);
  const header = platformElfHeader(n);
  const matching = header ? state.entries.filter((e) => matchesHeader(e, header)) : [];
  const active = state.enabled ? matching.filter((e) => e.enabled) : [];
  const base = { platform, ...(qemu ? { qemu } : {}) };

  if (active.length > 0) {
    const problems = active.map((h) => handlerProblem(h, interpreterExists)).filter((x) => x !== undefined);
    if (problems.length === 0) return { ...base, status: 'emulated', handlers: active };
    return { ...base, status: 'unavailable', handlers: active, reason: problems.join('; ') };
  }
  if (native.some((x) => samePlatform(x, n))) return { ...base, status: 'native', handlers: [] };

  const unavailable = (reason: string): PlatformSupport => ({
    ...base,
    status: 'unavailable',
    handlers: [],
    reason,
  });
  if (n.os !== 'linux') return unavailable(`${platform} is not a Linux platform`);
  if (!qemu) return unavailable(`QEMU has no user-mode emulator for ${platform}`);
  const host = native[0];
  if (host && n.architecture === 'amd64' && host.architecture === 'amd64' && n.variant) {
    return unavailable(
      `this CPU lacks the x86-64-${n.variant} features and no x86_64 emulator is registered`,
    );
  }
  if (!state.mounted) {
    return unavailable(
      `binfmt_misc is not mounted at ${state.dir}${state.mountError ? ` (${state.mountError})` : ''}`,
    );
  }
  if (!state.enabled) return unavailable(`binfmt_misc is disabled (${state.dir}/status)`);
  const disabled = matching.find((e) => !e.enabled);
  if (disabled) return unavailable(`the binfmt_misc handler ${disabled.name} is disabled`);
  return unavailable(`no binfmt_misc handler for ${qemu} binaries is registered`);
}

function toPlatform(p: string | Platform): Platform {
  return typeof p === 'string' ? parsePlatform(p) : normalizePlatform(p);
}

function assess(
  platforms: readonly (string | Platform)[],
  opts: EmulationOptions,
): { report: PlatformSupport[]; host: HostInfo } {
  const state = readBinfmt(
    opts.binfmtDir ?? defaultBinfmtDir,
    opts.mount === undefined ? {} : { mount: opts.mount },
  );
  const armHeader = elfHeader(elfIdentOf('arm')!);
  const armHandled = state.enabled && state.entries.some((e) => e.enabled && matchesHeader(e, armHeader));
  const host = opts.host ?? detectHostInfo({ armHandled });
  const native = nativePlatforms(host);
  const exists = opts.interpreterExists ?? existsSync;
  return { report: platforms.map((p) => assessPlatform(toPlatform(p), state, native, exists)), host };
}

/** How each of `platforms` runs on this host (reads binfmt_misc and the host; never throws for them). */
export function emulationReport(
  platforms: readonly (string | Platform)[],
  opts: EmulationOptions = {},
): PlatformSupport[] {
  return assess(platforms, opts).report;
}

/** The EmulationError message for platforms that cannot run. */
export function emulationFailureMessage(failed: readonly PlatformSupport[], host: Platform): string {
  const hostName = formatPlatform(host);
  const names = failed.map((f) => f.platform);
  const installable = failed.filter((f) => f.qemu).map((f) => f.platform);
  const fix = installable.length
    ? `; register ${installable.length > 1 ? 'emulators' : 'an emulator'} with \`polyarch emulators install ${installable.join(' ')}\` (as root), or install Debian's handlers with \`apt-get install qemu-user-static\``
    : '';
  if (failed.length === 1) {
    return `cannot run ${names[0]} binaries on this ${hostName} host: ${failed[0]!.reason}${fix}`;
  }
  const lines = failed.map((f) => `  ${f.platform}: ${f.reason}`);
  return `cannot run ${names.join(', ')} binaries on this ${hostName} host:\n${lines.join('\n')}\n${fix.replace(/^; r/, 'R')}`;
}

/**
 * Preflight for a build: every platform must run natively or through a usable handler.
 * Throws one EmulationError naming every platform that cannot, each with its reason and the fix.
 */
export function checkPlatforms(
  platforms: readonly (string | Platform)[],
  opts: EmulationOptions = {},
): PlatformSupport[] {
  const { report, host } = assess(platforms, opts);
  const failed = report.filter((r) => r.status === 'unavailable');
  if (failed.length > 0) throw new EmulationError(emulationFailureMessage(failed, host.platform));
  return report;
}
