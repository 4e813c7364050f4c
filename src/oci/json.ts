/**
 * oci/json — canonical JSON: object keys sorted, no insignificant whitespace, UTF-8.
 *
 * Used for cache keys and anywhere bytes must not depend on the order fields were set in.
 * `undefined` members are dropped, as JSON.stringify does.
 */

/** Serialises `value` with sorted keys and no whitespace. */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The bytes of canonical JSON. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJSON(value), 'utf8');
}
