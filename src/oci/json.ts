/**
 * oci/json — JSON as the documents need it: canonical JSON (object keys sorted, no
 * insignificant whitespace, UTF-8) for cache keys and anywhere bytes must not depend on the
 * order fields were set in; and JSON as Go's encoding/json writes it, for the documents and
 * lines that BuildKit and buildx write (manifests, configs, attestations, rawjson progress).
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

/**
 * `v` as Go's json.Marshal writes it (json.MarshalIndent with `indent`): `<`, `>`, `&`, U+2028
 * and U+2029 escaped as `\u003c`, … Member order is the object's own, as Go's is its struct's.
 */
export function goJSON(v: unknown, indent?: string): string {
  return JSON.stringify(v, null, indent).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The UTF-8 bytes of goJSON(v). */
export function goJSONBytes(v: unknown): Buffer {
  return Buffer.from(goJSON(v), 'utf8');
}
