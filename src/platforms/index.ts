/**
 * platforms — parse, normalise, format and match platform specifiers, with containerd's
 * semantics (github.com/containerd/platforms is the reference).
 *
 * A specifier is `os[/arch[/variant]]`, an `arch` alone, or an `os` alone:
 *
 *     parsePlatform('linux/arm64')     → { os: 'linux', architecture: 'arm64' }
 *     parsePlatform('arm')             → { os: 'linux', architecture: 'arm', variant: 'v7' }
 *     parsePlatform('aarch64')         → linux/arm64         (the arm64 variant v8 is implied)
 *     parsePlatform('linux/armhf')     → linux/arm/v7        (armel → arm/v6, i386 → 386, x86_64 → amd64)
 *     parsePlatform('linux')           → linux/<host arch>
 *
 * Everything is normalised on the way in, so `formatPlatform(parsePlatform(s))` is the
 * canonical spelling BuildKit prints (`linux/arm/v7`, `linux/arm64`, `linux/amd64`).
 *
 * `platformMatcher(p)` ranks what `p` can run, best first, as containerd's `platforms.Only`:
 * `linux/arm/v7` accepts v7, then v6, then v5; `linux/arm64` also accepts arm v8…v5;
 * `linux/amd64/v3` accepts v3, v2, v1, then 386. Pure: the host comes in as an argument
 * (see `host.ts` for detecting it).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Platform } from '../oci/types.js';

export type { Platform } from '../oci/types.js';

const knownOS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
  'zos',
]);

const knownArch = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'ppc64',
  'ppc64le',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
]);

// containerd: osAndVersionRe = ^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$ ; specifierRe = ^[A-Za-z0-9_-]+$
const osAndVersionRe = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$/;
const componentRe = /^[A-Za-z0-9_.-]+$/;

/** The platform the default host (this process) is, from Node's `process.arch`; no I/O. */
export function defaultHostPlatform(): Platform {
  return normalizePlatform({ os: 'linux', architecture: nodeArchToGo(process.arch) });
}

/** Node's `process.arch` spelled as Go's GOARCH. */
function nodeArchToGo(arch: string): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'mipsel':
      return 'mipsle';
    case 'loong64':
      return 'loong64';
    default:
      return arch;
  }
}

function isKnownOS(os: string): boolean {
  return knownOS.has(os.toLowerCase());
}

function isKnownArch(arch: string): boolean {
  return knownArch.has(normalizeArch(arch, '').architecture);
}

function normalizeOS(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** containerd's normalizeArch: canonical architecture and variant spellings. */
export function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  let a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case 'i386':
    case 'i686':
      a = '386';
      v = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      a = 'amd64';
      if (v === 'v1') v = '';
      break;
    case 'aarch64':
    case 'arm64':
      a = 'arm64';
      if (v === '8' || v === 'v8' || v === 'v8.0') v = '';
      else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9';
      break;
    case 'armhf':
      a = 'arm';
      v = 'v7';
      break;
    case 'armel':
      a = 'arm';
      v = 'v6';
      break;
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      break;
  }
  return { architecture: a, variant: v };
}

/** Canonical spelling of a platform: lower case, known aliases resolved, implied variants set. */
export function normalizePlatform(p: Platform): Platform {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant ?? '');
  const out: Platform = { os: normalizeOS(p.os), architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = [...p['os.features']];
  return out;
}

function invalid(specifier: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid platform "${specifier}": ${why}`);
}

/**
 * Parses and normalises a platform specifier. `host` fills in what an os-only or arch-only
 * specifier leaves out (default: this process's platform).
 */
export function parsePlatform(specifier: string, host: Platform = defaultHostPlatform()): Platform {
  const spec = specifier.trim();
  if (spec === '') throw invalid(specifier, 'empty specifier');
  if (spec.includes('*')) throw invalid(specifier, 'wildcards are not supported');
  const parts = spec.split('/');
  if (parts.length > 3) throw invalid(specifier, 'expected os[/arch[/variant]]');
  const first = osAndVersionRe.exec(parts[0]!);
  if (!first) throw invalid(specifier, `"${parts[0]}" is not a valid operating system`);
  for (const part of parts.slice(1)) {
    if (!componentRe.test(part)) throw invalid(specifier, `"${part}" is not a valid component`);
  }
  const os = normalizeOS(first[1]!);
  const osVersion = first[2];
  const withVersion = (p: Platform): Platform => (osVersion ? { ...p, 'os.version': osVersion } : p);

  if (parts.length === 1) {
    if (isKnownOS(os)) {
      if (os === host.os) return withVersion(normalizePlatform({ ...host, os }));
      return withVersion(defaultArchFor(os, host));
    }
    const arch = normalizeArch(parts[0]!, '');
    if (knownArch.has(arch.architecture)) {
      return normalizePlatform({ os: host.os, architecture: arch.architecture, variant: arch.variant });
    }
    throw invalid(specifier, 'unknown operating system or architecture');
  }
  if (parts.length === 2 && !isKnownOS(os) && isKnownArch(parts[0]!)) {
    // `arm64/v8`, `arm/v6`: an architecture with a variant, on the host's OS
    return normalizePlatform({ os: host.os, architecture: parts[0]!, variant: parts[1]! });
  }
  if (parts.length === 2) {
    return withVersion(normalizePlatform({ os, architecture: parts[1]! }));
  }
  return withVersion(normalizePlatform({ os, architecture: parts[1]!, variant: parts[2]! }));
}

function defaultArchFor(os: string, host: Platform): Platform {
  return normalizePlatform({ os, architecture: host.architecture, variant: host.variant });
}

/** Parses a comma-separated list (`linux/amd64,linux/arm64`), dropping duplicates, keeping order. */
export function parsePlatformList(specifiers: string | readonly string[], host?: Platform): Platform[] {
  const items = (typeof specifiers === 'string' ? [specifiers] : specifiers)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const out: Platform[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const p = parsePlatform(item, host);
    const key = formatPlatform(p);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

/** `os/arch[/variant]`, the spelling BuildKit prints. */
export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return [n.os, n.architecture, n.variant].filter((x) => x).join('/');
}

/** Like `formatPlatform`, but keeps a variant that normalisation would drop (e.g. `arm64/v8`). */
export function formatPlatformRaw(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

/** True when two platforms are the same after normalisation. */
export function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return (
    x.os === y.os &&
    x.architecture === y.architecture &&
    (x.variant ?? '') === (y.variant ?? '') &&
    (x['os.version'] ?? '') === (y['os.version'] ?? '')
  );
}

/** What a platform can run, best first. */
export interface PlatformMatcher {
  /** true when an image for `p` can run on the matcher's platform */
  match(p: Platform): boolean;
  /** 0 for the best match, larger for worse, -1 for no match */
  rank(p: Platform): number;
  /** the best of `candidates` (first on ties), or undefined */
  best<T>(candidates: readonly T[], platformOf: (c: T) => Platform | undefined): T | undefined;
}

/** The ordered list of platforms that `p` can run (containerd's platformVector). */
export function compatiblePlatforms(p: Platform): Platform[] {
  const n = normalizePlatform(p);
  const base = { os: n.os, ...(n['os.version'] ? { 'os.version': n['os.version'] } : {}) };
  const vector: Platform[] = [n];
  switch (n.architecture) {
    case 'amd64': {
      const level = Number.parseInt((n.variant ?? '').replace(/^v/, ''), 10);
      if (Number.isInteger(level) && level > 1) {
        for (let v = level - 1; v >= 1; v--) {
          vector.push(normalizePlatform({ ...base, architecture: 'amd64', variant: `v${v}` }));
        }
      }
      vector.push({ ...base, architecture: '386' });
      break;
    }
    case 'arm': {
      const level = Number.parseInt((n.variant ?? '').replace(/^v/, ''), 10);
      if (Number.isInteger(level) && level > 5) {
        for (let v = level - 1; v >= 5; v--) vector.push({ ...base, architecture: 'arm', variant: `v${v}` });
      }
      break;
    }
    case 'arm64': {
      const variant = n.variant || 'v8';
      vector.push(...compatiblePlatforms({ ...base, architecture: 'arm', variant }));
      break;
    }
  }
  return vector;
}

/** A matcher that accepts `p` and what `p` can run, ranked (containerd's `platforms.Only`). */
export function platformMatcher(p: Platform): PlatformMatcher {
  return orderedMatcher(compatiblePlatforms(p));
}

/** A matcher that accepts only `p` itself (containerd's `platforms.OnlyStrict`). */
export function strictPlatformMatcher(p: Platform): PlatformMatcher {
  return orderedMatcher([normalizePlatform(p)]);
}

function orderedMatcher(order: readonly Platform[]): PlatformMatcher {
  const rank = (p: Platform): number => order.findIndex((o) => samePlatform(o, p));
  return {
    match: (p) => rank(p) >= 0,
    rank,
    best<C>(candidates: readonly C[], platformOf: (c: C) => Platform | undefined): C | undefined {
      let best: C | undefined;
      let bestRank = Number.POSITIVE_INFINITY;
      for (const c of candidates) {
        const p = platformOf(c);
        if (!p) continue;
        const r = rank(p);
        if (r >= 0 && r < bestRank) {
          best = c;
          bestRank = r;
        }
      }
      return best;
    },
  };
}
