/**
 * builder/filters — the values `du` and `prune` take, parsed as buildx parses them: Go
 * durations (`until=24h`, `1h30m`), docker's binary byte sizes (`--keep-storage 10GB` =
 * 10 GiB), and docker's `--filter key=value` list turned into BuildKit's cache filters
 * (`type==regular`, `id~=abc`, `description!=x`), and matching a cache item against them.
 * Pure.
 */
import { InvalidArgumentError, messageOf } from '../errors.js';
import { parseGoDuration } from '../goparse.js';

/** One BuildKit cache filter: `field==value`, `field!=value` or `field~=regexp`. */
export interface CacheFilter {
  field: CacheFilterField;
  op: '==' | '!=' | '~=';
  value: string;
}

export const cacheFilterFields = [
  'id',
  'parents',
  'description',
  'inuse',
  'mutable',
  'shared',
  'private',
  'type',
] as const;
export type CacheFilterField = (typeof cacheFilterFields)[number];

/** What `--filter` arguments mean for `du` and `prune`. */
export interface PruneFilters {
  /** `until=DURATION` (or `unused-for=`): only what was not used for this long, ms */
  untilMs?: number;
  filters: CacheFilter[];
}

/**
 * Parses `--filter key=value` arguments as buildx does (docker's filter flag, then
 * `toBuildkitPruneInfo`): `until`/`unused-for` take a duration, `id=x` matches ids by
 * regexp, `key!=x` and `key~=x` pass their operator, every other key is an equality.
 */
export function parsePruneFilters(args: readonly string[]): PruneFilters {
  const byKey = new Map<string, string[]>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`bad format of filter "${arg}" (expected name=value)`);
    const key = arg.slice(0, eq).trim().toLowerCase();
    const value = arg.slice(eq + 1).trim();
    byKey.set(key, [...(byKey.get(key) ?? []), value]);
  }
  const until = byKey.get('until') ?? [];
  const unused = byKey.get('unused-for') ?? [];
  if (until.length > 0 && unused.length > 0) {
    throw new InvalidArgumentError('conflicting filters "until" and "unused-for"');
  }
  const untilKey = unused.length > 0 ? 'unused-for' : 'until';
  const untilValues = [...until, ...unused];
  const out: PruneFilters = { filters: [] };
  if (untilValues.length > 1) throw new InvalidArgumentError('filters expect only one value');
  if (untilValues.length === 1) {
    let ns: number;
    try {
      ns = parseGoDuration(untilValues[0]!);
    } catch (err) {
      throw new InvalidArgumentError(
        `"${untilKey}" filter expects a duration (e.g., '24h'): ${messageOf(err)}`,
      );
    }
    out.untilMs = ns / 1e6;
  }
  for (const [rawKey, values] of byKey) {
    if (rawKey === 'until' || rawKey === 'unused-for') continue;
    if (values.length > 1) throw new InvalidArgumentError('filters expect only one value');
    let op: CacheFilter['op'] = rawKey === 'id' ? '~=' : '==';
    let key = rawKey;
    if (key.endsWith('!') || key.endsWith('~')) {
      op = key.endsWith('!') ? '!=' : '~=';
      key = key.slice(0, -1);
    }
    if (!(cacheFilterFields as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(
        `invalid filter "${rawKey}=${values[0]}": unknown key "${key}" (known: until, unused-for, ${cacheFilterFields.join(', ')})`,
      );
    }
    const value = values[0]!;
    if (op === '~=') {
      try {
        new RegExp(value);
      } catch {
        throw new InvalidArgumentError(`invalid filter "${rawKey}=${value}": not a regular expression`);
      }
    }
    out.filters.push({ field: key as CacheFilterField, op, value });
  }
  return out;
}

/** The fields of a cache item that filters look at. */
export interface FilterableItem {
  id: string;
  parents: string[];
  description: string;
  inUse: boolean;
  mutable: boolean;
  shared: boolean;
  type: string;
}

function fieldValue(item: FilterableItem, field: CacheFilterField): string {
  switch (field) {
    case 'id':
      return item.id;
    case 'parents':
      return item.parents.join(',');
    case 'description':
      return item.description;
    case 'inuse':
      return String(item.inUse);
    case 'mutable':
      return String(item.mutable);
    case 'shared':
      return String(item.shared);
    case 'private':
      return String(!item.shared);
    case 'type':
      return item.type;
  }
}

/** True when the item passes every filter (BuildKit joins them with AND). */
export function matchesFilters(item: FilterableItem, filters: readonly CacheFilter[]): boolean {
  return filters.every((f) => {
    const v = fieldValue(item, f.field);
    if (f.op === '==') return v === f.value;
    if (f.op === '!=') return v !== f.value;
    return new RegExp(f.value).test(v);
  });
}
