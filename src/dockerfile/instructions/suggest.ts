/**
 * dockerfile/instructions/suggest — "did you mean …?" for misspelt names (BuildKit's
 * util/suggest): the closest option within an edit distance of 2.
 */

function levenshtein(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[y.length]!;
}

/** The closest option to `value` (distance < 3), or undefined; undefined too on an exact match. */
export function suggest(
  value: string,
  options: readonly string[],
  caseSensitive: boolean,
): string | undefined {
  const v = caseSensitive ? value : value.toLowerCase();
  let match: string | undefined;
  let best = 3;
  for (const opt of options) {
    const o = caseSensitive ? opt : opt.toLowerCase();
    if (o === v) return undefined;
    const d = levenshtein(v, o);
    if (d < best) {
      best = d;
      match = opt;
    }
  }
  return match;
}

/** `message (did you mean x?)` when there is a close option. */
export function withSuggestion(
  message: string,
  value: string,
  options: readonly string[],
  caseSensitive: boolean,
): string {
  const m = suggest(value, options, caseSensitive);
  return m === undefined ? message : `${message} (did you mean ${m}?)`;
}
