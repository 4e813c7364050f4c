/** progress/units — byte counts as BuildKit prints them (`790B`, `24.12MB`, decimal units). */

const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

export function formatBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(2)}${units[i]}`;
}

/** Parses `10GB`, `512MiB`, `1.5g`, `1000` (bytes) — the sizes users give to flags. */
export function parseBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)\s*$/i.exec(s);
  if (!m) return undefined;
  const exp = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  const base = m[3] ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** exp);
}
