/** progress/units — byte counts as BuildKit's progress prints them (`790B`, `24.12MB`, decimal units). */

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
