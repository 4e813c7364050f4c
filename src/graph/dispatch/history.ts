/**
 * graph/dispatch/history — the wording of history entries as BuildKit writes them, with Go's
 * formatting where BuildKit prints Go values (`%v` of lists and maps, `%q` of durations).
 */
import type { Scope } from '../../dockerfile/index.js';
import type { History } from '../../oci/types.js';

const historyComment = 'buildkit.dockerfile.v0';

/** An entry; `viaBuildkit` marks the steps BuildKit runs (RUN, COPY, ADD) with `# buildkit`. */
export function historyEntry(createdBy: string, withLayer: boolean, viaBuildkit: boolean): History {
  return {
    created_by: viaBuildkit ? `${createdBy} # buildkit` : createdBy,
    comment: historyComment,
    ...(withLayer ? {} : { empty_layer: true }),
  };
}

/** Go's `%v` of a []string: `[a b]`. */
export function goList(xs: readonly string[]): string {
  return `[${xs.join(' ')}]`;
}

/** Go's map formatting of exposed ports: `map[53/udp:{} 80/tcp:{}]`, keys sorted. */
export function goPortMap(ports: readonly string[]): string {
  return `map[${[...new Set(ports)]
    .sort()
    .map((p) => `${p}:{}`)
    .join(' ')}]`;
}

/** The durations of a HEALTHCHECK as `%q` prints a time.Duration. */
export function healthTimes(h: {
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
}): string {
  return [h.interval, h.timeout, h.startPeriod, h.startInterval]
    .map((n) => `%!q(time.Duration=${n})`)
    .join(' ');
}

/** runCommandString: `|2 A=1 B=2 /bin/sh -c …` when the stage declared ARGs. */
export function runCommandString(args: readonly string[], scope: Scope): string {
  const seen = new Map<string, string>();
  for (const a of scope.args) seen.set(a.key, scope.vars.get(a.key) ?? a.value ?? '');
  const prefix = seen.size > 0 ? [`|${seen.size}`, ...[...seen].map(([k, v]) => `${k}=${v}`)] : [];
  return [...prefix, ...args].join(' ');
}
