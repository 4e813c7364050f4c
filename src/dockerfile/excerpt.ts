/**
 * dockerfile/excerpt — the Dockerfile excerpt BuildKit prints under an error, with `>>>` on
 * the lines of the failing instruction:
 *
 *     Dockerfile:3
 *     --------------------
 *        1 |     FROM busybox
 *        2 |     WORKDIR /app
 *        3 | >>> RUN false
 *     --------------------
 */

/** The excerpt for lines `start`..`end` (1-based) of `lines`, or '' when out of range. */
export function formatExcerpt(file: string, lines: readonly string[], start: number, end = start): string {
  if (start < 1 || start > lines.length) return '';
  let from = start;
  let to = Math.min(end, lines.length);
  const pad = to === from ? 4 : 2;
  for (let p = 0; p < pad; ) {
    if (from > 1) {
      from--;
      p++;
    }
    if (to !== lines.length) {
      to++;
      p++;
    }
    p++;
  }
  const rule = '-'.repeat(20);
  const out = [`${file}:${start}`, rule];
  for (let i = from; i <= to; i++) {
    const mark = i >= start && i <= end ? '>>>' : '   ';
    out.push(` ${String(i).padStart(3)} | ${mark} ${lines[i - 1]}`);
  }
  out.push(rule);
  return `${out.join('\n')}\n`;
}
