/**
 * cli/gotime — times as Go prints them, for the commands that print buildx's layouts (`inspect`,
 * `du --verbose`, `prune --verbose`). Pure, so that a command printing a time imports no other
 * command.
 */

/** Go's `time.Time.String()` of a UTC time: `2026-11-28 09:13:05 +0000 UTC` (fraction if any). */
export function goTimeString(d: Date): string {
  const iso = d.toISOString(); // 2026-11-28T09:13:05.123Z
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ''} +0000 UTC`;
}
