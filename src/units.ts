/**
 * units — docker/go-units' human forms of sizes and durations, as docker and buildx print
 * them (`images` SIZE, `du`, `prune`, LAST ACCESSED). Pure.
 *
 *     humanSize(1_981_952)      → '1.982MB'
 *     humanSize(4_261_000, 3)   → '4.26MB'
 *     humanDuration(75_000)     → 'About a minute'
 */

/**
 * docker's `units.HumanSizeWithPrecision`: decimal units, `precision` significant digits —
 * 4 is `units.HumanSize` (buildx du), 3 is what `docker images` prints (`1.234MB`, `0B`).
 */
export function humanSize(bytes: number, precision = 4): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(precision))}${units[i]}`;
}

/** docker's `units.HumanDuration` (`Less than a second`, `About a minute`, `3 hours`, `2 weeks`). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}
