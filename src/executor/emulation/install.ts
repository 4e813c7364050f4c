/**
 * emulation/install — register and remove QEMU handlers in binfmt_misc, as
 * `docker run --privileged tonistiigi/binfmt --install …` does, using the qemu-user-static
 * binaries and data Debian ships instead of an image.
 *
 * A handler is registered as `qemu-<target>` (tonistiigi's names) with the magic and mask of
 * Debian's /usr/lib/binfmt.d/qemu-<target>.conf (or binfmt-support's /usr/share/binfmts), the
 * interpreter /usr/bin/qemu-<target>-static, and tonistiigi's flags: C (credentials from the
 * binary, which implies O) and F (interpreter opened now, so containers need not contain it),
 * plus P (keep argv[0]) with Debian's `-binfmt-P` wrapper as interpreter whenever it is installed
 * (Debian's QEMU needs it to run programs started by name), or when asked, as tonistiigi's
 * QEMU_PRESERVE_ARGV0 does. A handler for the same
 * binaries that cannot work in containers (no F, disabled, interpreter gone) is removed first;
 * one that works is kept. Platforms the host runs natively are left alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmulationError, InvalidArgumentError, messageOf } from '../../errors.js';
import { formatPlatform, parsePlatform, samePlatform } from '../../platforms/index.js';
import {
  type BinfmtEntry,
  type BinfmtRegistration,
  type BinfmtState,
  defaultBinfmtDir,
  formatRegistration,
  matchesHeader,
  parseRegistration,
  readBinfmt,
  unescapeField,
} from './binfmt.js';
import { handlerProblem } from './check.js';
import { detectHostInfo, type HostInfo, nativePlatforms } from './native.js';
import { elfHeader, elfIdentOf, qemuArchOf, qemuArchs } from './qemu.js';

export interface InstallOptions {
  /** the binfmt_misc directory (default /proc/sys/fs/binfmt_misc) */
  binfmtDir?: string;
  /** where the registration data is (default /usr/lib/binfmt.d, then /usr/share/binfmts) */
  dataDirs?: readonly string[];
  /** where the QEMU binaries are (default /usr/bin) */
  qemuDir?: string;
  /** add the P flag: programs see the argv[0] they were started with */
  preserveArgv0?: boolean;
  /** the host facts (default: detected) */
  host?: HostInfo;
  interpreterExists?: (path: string) => boolean;
}

export interface InstallResult {
  /** the platform asked for (or the first one served by this target, for `all`) */
  platform: string;
  qemu: string;
  action: 'installed' | 'kept' | 'native';
  /** the handler now serving the platform */
  handler?: { name: string; interpreter: string; flags: string };
  /** handlers removed because they could not work in containers */
  removed: string[];
}

export interface InstallReport {
  /** binfmt_misc was globally disabled and got enabled */
  enabledBinfmt: boolean;
  results: InstallResult[];
}

const defaultDataDirs = ['/usr/lib/binfmt.d', '/usr/share/binfmts'];

/** Parses binfmt-support's format (`/usr/share/binfmts/qemu-aarch64`: `key value` lines). */
function parseBinfmtSupport(name: string, content: string): BinfmtRegistration {
  const fields = new Map<string, string>();
  for (const line of content.split('\n')) {
    const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(line);
    if (m) fields.set(m[1]!, m[2]!);
  }
  const magic = fields.get('magic');
  const interpreter = fields.get('interpreter');
  if (!magic || !interpreter) throw new Error(`no magic or interpreter in ${name}`);
  const reg: BinfmtRegistration = {
    name,
    kind: 'magic',
    offset: Number.parseInt(fields.get('offset') ?? '0', 10) || 0,
    magic: unescapeField(magic),
    interpreter,
    flags: '',
  };
  const mask = fields.get('mask');
  if (mask) reg.mask = unescapeField(mask);
  return reg;
}

/** Debian's registration data for a QEMU target, or undefined when qemu-user-static has none. */
export function readRegistrationData(
  qemu: string,
  dataDirs: readonly string[] = defaultDataDirs,
): BinfmtRegistration | undefined {
  for (const dir of dataDirs) {
    for (const file of [join(dir, `qemu-${qemu}.conf`), join(dir, `qemu-${qemu}`)]) {
      let content: string;
      try {
        content = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      try {
        if (file.endsWith('.conf')) {
          const line = content.split('\n').find((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
          if (line) return parseRegistration(line);
        } else {
          return parseBinfmtSupport(`qemu-${qemu}`, content);
        }
      } catch (err) {
        throw new EmulationError(`reading binfmt data ${file}: ${messageOf(err)}`, { cause: err });
      }
    }
  }
  return undefined;
}

/** The registration polyarch writes for `qemu`: Debian's magic and mask, our name, interpreter and flags. */
export function qemuRegistration(qemu: string, opts: InstallOptions = {}): BinfmtRegistration {
  const data = readRegistrationData(qemu, opts.dataDirs ?? defaultDataDirs);
  if (!data) {
    throw new EmulationError(
      `no binfmt data for qemu-${qemu} in ${(opts.dataDirs ?? defaultDataDirs).join(' or ')}: install QEMU's user-mode emulators with \`apt-get install qemu-user-static\``,
    );
  }
  const exists = opts.interpreterExists ?? existsSync;
  const dir = opts.qemuDir ?? '/usr/bin';
  const candidates = [join(dir, `qemu-${qemu}-static`), join(dir, `qemu-${qemu}`), data.interpreter];
  // Debian's `-binfmt-P` wrapper tells its QEMU that argv[0] is preserved; without it, Debian's
  // QEMU 7.2 drops an argument of programs started by name (`sh -c 'cat f'` runs `f`), so the
  // wrapper with P is the default whenever it is installed
  const wrapper = data.interpreter.endsWith('-binfmt-P') && exists(data.interpreter);
  const preserve = opts.preserveArgv0 ?? wrapper;
  if (preserve && wrapper) candidates.unshift(data.interpreter);
  const interpreter = candidates.find((c) => exists(c));
  if (!interpreter) {
    throw new EmulationError(
      `no QEMU binary for ${qemu} (looked for ${candidates.join(', ')}): install it with \`apt-get install qemu-user-static\``,
    );
  }
  return { ...data, name: `qemu-${qemu}`, interpreter, flags: preserve ? 'PCF' : 'CF' };
}

function writeControl(path: string, value: string, doing: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new EmulationError(`${doing}: ${messageOf(err)}; changing binfmt_misc handlers needs root`, {
        cause: err,
      });
    }
    throw new EmulationError(`${doing}: ${messageOf(err)}`, { cause: err });
  }
}

function requireWritable(state: BinfmtState, doing: string): void {
  if (state.dir === defaultBinfmtDir && typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    throw new EmulationError(`${doing}: changing binfmt_misc handlers needs root (try sudo)`);
  }
  if (!state.mounted) {
    throw new EmulationError(
      `${doing}: binfmt_misc is not mounted at ${state.dir}${state.mountError ? ` (${state.mountError})` : ''}`,
    );
  }
}

interface Target {
  platform: string;
  qemu: string;
}

/** Resolves `linux/arm64 linux/arm/v7 …` or `all` to QEMU targets (one per target, order kept). */
function targets(
  specs: readonly string[],
  host: HostInfo,
  forInstall: boolean,
  opts: InstallOptions,
): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  const add = (platform: string, qemu: string) => {
    if (seen.has(qemu)) return;
    seen.add(qemu);
    out.push({ platform, qemu });
  };
  for (const spec of specs) {
    if (spec === 'all') {
      for (const { qemu, architecture } of qemuArchs()) {
        const platform = formatPlatform(parsePlatform(`linux/${architecture}`));
        if (forInstall && readRegistrationData(qemu, opts.dataDirs ?? defaultDataDirs) === undefined)
          continue;
        add(platform, qemu);
      }
      continue;
    }
    const p = parsePlatform(spec, host.platform);
    const qemu = qemuArchOf(p);
    if (!qemu) throw new InvalidArgumentError(`QEMU has no user-mode emulator for ${formatPlatform(p)}`);
    add(formatPlatform(p), qemu);
  }
  return out;
}

/** Registers QEMU handlers for `specs` (platforms, or `all`). Needs root. */
export function installEmulators(specs: readonly string[], opts: InstallOptions = {}): InstallReport {
  if (specs.length === 0) throw new InvalidArgumentError('no platform given to install emulators for');
  const dir = opts.binfmtDir ?? defaultBinfmtDir;
  const host = opts.host ?? detectHostInfo();
  const native = nativePlatforms(host);
  const exists = opts.interpreterExists ?? existsSync;
  const list = targets(specs, host, true, opts);
  let state = readBinfmt(dir, { mount: dir === defaultBinfmtDir });
  requireWritable(state, 'installing emulators');

  let enabledBinfmt = false;
  if (!state.enabled) {
    writeControl(join(dir, 'status'), '1', `enabling binfmt_misc (${dir}/status)`);
    enabledBinfmt = true;
  }
  const results: InstallResult[] = [];
  for (const t of list) {
    const header = elfHeader(elfIdentOf(t.qemu)!);
    const matching = state.entries.filter((e) => e.name === `qemu-${t.qemu}` || matchesHeader(e, header));
    const wanted = qemuRegistration(t.qemu, opts);
    // Debian's static QEMU registered without P loses argv[0]: replace it with the P wrapper
    const loosesArgv0 = (e: BinfmtEntry) =>
      wanted.flags.includes('P') && !e.flags.includes('P') && /\/qemu-[^/]*-static$/.test(e.interpreter);
    const working = matching.filter((e) => handlerProblem(e, exists) === undefined && !loosesArgv0(e));
    const broken = matching.filter((e) => handlerProblem(e, exists) !== undefined || loosesArgv0(e));
    // a broken handler would take the platform's binaries even where the CPU runs them natively
    const removed: string[] = [];
    for (const b of broken) {
      writeControl(join(dir, b.name), '-1', `removing binfmt_misc handler ${b.name}`);
      removed.push(b.name);
    }
    if (working.length > 0) {
      results.push({ ...t, action: 'kept', handler: describe(working[0]!), removed });
      continue;
    }
    if (native.some((n) => samePlatform(n, parsePlatform(t.platform)))) {
      results.push({ ...t, action: 'native', removed });
      continue;
    }
    const reg = wanted;
    writeControl(
      join(dir, 'register'),
      formatRegistration(reg),
      `registering ${reg.name} in ${dir}/register`,
    );
    results.push({
      ...t,
      action: 'installed',
      handler: { name: reg.name, interpreter: reg.interpreter, flags: reg.flags },
      removed,
    });
    state = readBinfmt(dir, { mount: false });
  }
  return { enabledBinfmt, results };
}

function describe(e: BinfmtEntry): { name: string; interpreter: string; flags: string } {
  return { name: e.name, interpreter: e.interpreter, flags: e.flags };
}

/** Removes the `qemu-<target>` handlers for `specs` (platforms, or `all`). Returns the names removed. */
export function uninstallEmulators(specs: readonly string[], opts: InstallOptions = {}): string[] {
  if (specs.length === 0) throw new InvalidArgumentError('no platform given to uninstall emulators for');
  const dir = opts.binfmtDir ?? defaultBinfmtDir;
  const host = opts.host ?? detectHostInfo();
  const state = readBinfmt(dir, { mount: dir === defaultBinfmtDir });
  requireWritable(state, 'uninstalling emulators');
  const names = new Set(targets(specs, host, false, opts).map((t) => `qemu-${t.qemu}`));
  const removed: string[] = [];
  for (const e of state.entries) {
    if (!names.has(e.name)) continue;
    writeControl(join(dir, e.name), '-1', `removing binfmt_misc handler ${e.name}`);
    removed.push(e.name);
  }
  return removed;
}
