/**
 * goparse — the Go value syntaxes that docker, buildx and BuildKit read their flags, exporter
 * attributes and Dockerfile options with, in one place: `strconv.ParseBool`,
 * `time.ParseDuration`, docker/go-units `RAMInBytes`, and one `encoding/csv` record. Pure.
 *
 *     parseGoBool('T')           → true      (undefined when not a Go bool)
 *     parseGoDuration('1h30m')   → 5.4e12    (nanoseconds; throws Go's error text)
 *     parseByteSize('64m')       → 67108864  (binary units; undefined when invalid)
 *     csvRecord('a,"b,c"')       → ['a', 'b,c']
 */
import { InvalidArgumentError } from './errors.js';

/** Go's strconv.ParseBool; undefined when `v` is not one of its spellings. */
export function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

const durationUnits: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Go's time.ParseDuration (`300ms`, `1h30m`, `-1.5h`), in nanoseconds. Throws an
 * InvalidArgumentError with Go's message: `time: invalid duration "x"`, or
 * `time: missing unit in duration "5"`.
 */
export function parseGoDuration(s: string): number {
  const invalid = () => new InvalidArgumentError(`time: invalid duration "${s}"`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  const part = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest !== '') {
    const m = part.exec(rest);
    if (!m) {
      if (/^(\d+\.?\d*|\.\d+)$/.test(rest)) {
        throw new InvalidArgumentError(`time: missing unit in duration "${s}"`);
      }
      throw invalid();
    }
    total += Number(m[1]) * durationUnits[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.round(sign * total);
}

/**
 * docker/go-units `RAMInBytes` (what `--shm-size`, `--keep-storage` and tmpfs `size=` take): a
 * number with an optional binary unit, `b`, `k`/`kb`/`kib`, `m`, `g`, `t`, `p`,
 * case-insensitive. Undefined when invalid.
 */
export function parseByteSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  const exp = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(n * 1024 ** exp);
}

/**
 * One record as Go's encoding/csv reads it (quotes only at the start of a field, `""` inside
 * quotes for a quote). Throws a plain Error with Go's wording on a stray quote; callers add
 * what they were reading.
 */
export function csvRecord(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error('extraneous or missing " in quoted-field');
        const c = line[i]!;
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < line.length && line[i] !== ',') throw new Error('extraneous or missing " in quoted-field');
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') throw new Error('bare " in non-quoted-field');
        field += line[i];
        i++;
      }
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // ','
  }
}
