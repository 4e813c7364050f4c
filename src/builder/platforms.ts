/**
 * builder/platforms — how buildx shows a node's platforms: the configured ones first, marked
 * `*`, then the detected ones (`FormatInGroups`), and `ls`'s compact form, which folds the
 * variants of one OS/architecture into `linux/amd64 (+4)` and stops after four groups with
 * `(3 more)` (buildx's `truncPlatforms`). Pure.
 */
import type { Platform } from '../oci/types.js';
import { formatPlatform, normalizePlatform, parsePlatform } from '../platforms/index.js';

/** Every platform once, the first group's marked `*` (buildx's platformutil.FormatInGroups). */
export function formatInGroups(...groups: readonly (readonly Platform[])[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  groups.forEach((group, i) => {
    for (const p of group) {
      const v = formatPlatform(normalizePlatform(p));
      if (seen.has(v)) continue;
      seen.add(v);
      out.push(i === 0 ? `${v}*` : v);
    }
  });
  return out;
}

/** The OS/architecture pairs `ls` lists first, in this order, when a node has them. */
const majorPlatforms = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
  'linux/mips64',
];

function osArch(pf: string): string | undefined {
  try {
    const p = parsePlatform(pf.replace(/\*$/, ''));
    return `${p.os}/${p.architecture}`;
  } catch {
    return undefined;
  }
}

/**
 * `ls`'s PLATFORMS cell: at most `max` groups of one OS/architecture, major ones first, a
 * group of several shown as `linux/amd64 (+4)` (`*` when one of them is configured), and
 * `(N more)` for what is left out.
 */
export function truncatePlatforms(pfs: readonly string[], max = 4): string {
  // each platform parsed once (ls runs this cold, for every platform of every node)
  const keys = pfs.map(osArch);
  const groups = new Map<string, string[]>();
  for (const major of majorPlatforms) {
    pfs.forEach((pf, i) => {
      if (groups.size < max && keys[i] === major) groups.set(major, [...(groups.get(major) ?? []), pf]);
    });
  }
  const left = new Map<string, string[]>();
  for (let i = 0; i < pfs.length; i++) {
    if (groups.size >= max) break;
    const key = keys[i];
    if (key === undefined || groups.has(key)) continue;
    left.set(key, [...(left.get(key) ?? []), pfs[i]!]);
  }
  for (const [k, v] of left) groups.set(k, v);

  const out: string[] = [];
  let count = 0;
  const show = (key: string, list: string[]) => {
    if (list.length === 1) {
      out.push(list[0]!);
      count++;
    } else {
      const star = list.some((p) => p.endsWith('*')) ? '*' : '';
      out.push(`${key}${star} (+${list.length})`);
      count += list.length;
    }
  };
  const seen = new Set<string>();
  for (const major of majorPlatforms) {
    const list = groups.get(major);
    if (!list) continue;
    seen.add(major);
    show(major, list);
  }
  for (const key of [...groups.keys()].sort()) {
    if (out.length >= max) break;
    if (seen.has(key)) continue;
    show(key, groups.get(key)!);
  }
  const rest = pfs.length - count;
  if (rest > 0) out.push(`(${rest} more)`);
  return out.join(', ');
}

/**
 * BuildKit's order of a worker's platforms: the host's own first, then its amd64
 * micro-architecture levels, then what emulators add in archutil's order.
 */
const emulatedOrder = [
  'linux/amd64',
  'linux/arm64',
  'linux/riscv64',
  'linux/ppc64',
  'linux/ppc64le',
  'linux/s390x',
  'linux/386',
  'linux/mips64le',
  'linux/mips64',
  'linux/loong64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/arm/v5',
  'linux/mipsle',
  'linux/mips',
];

/** Orders supported platforms as BuildKit reports a worker's: `host`, its variants, then the rest. */
export function orderWorkerPlatforms(host: Platform, supported: readonly Platform[]): Platform[] {
  const h = normalizePlatform(host);
  const hostName = formatPlatform({
    os: h.os,
    architecture: h.architecture,
    ...(h.variant ? { variant: h.variant } : {}),
  });
  const rank = (p: Platform): [number, number, string] => {
    const name = formatPlatform(p);
    if (name === hostName) return [0, 0, name];
    if (p.os === h.os && p.architecture === h.architecture) return [1, 0, name];
    const i = emulatedOrder.indexOf(name);
    return [2, i < 0 ? emulatedOrder.length : i, name];
  };
  // each platform ranked once, not at every comparison (`ls` pays for this at start-up)
  const ranked = supported.map((p) => ({ p, r: rank(p) }));
  ranked.sort(
    ({ r: [a0, a1, a2] }, { r: [b0, b1, b2] }) => a0 - b0 || a1 - b1 || (a2 < b2 ? -1 : a2 > b2 ? 1 : 0),
  );
  return ranked.map((x) => x.p);
}
