/**
 * attest/purl — image references as package URLs (`pkg:docker/alpine@3.17?platform=linux%2Famd64`),
 * the names provenance materials and in-toto subjects carry. Encoded exactly as BuildKit's
 * packageurl-go does: namespace segments and the name query-escaped, the version and the
 * qualifier values path-escaped (Go's url.QueryEscape and url.PathEscape).
 */
import type { Platform } from '../oci/types.js';
import { formatPlatform } from '../platforms/index.js';
import { familiarName, parseReference } from '../reference/index.js';

const hex = (c: string) =>
  [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** Go's url.QueryEscape: all but A-Z a-z 0-9 - _ . ~ escaped, a space as `+`. */
export function queryEscape(s: string): string {
  return [...s].map((c) => (/[A-Za-z0-9\-_.~]/.test(c) ? c : c === ' ' ? '+' : hex(c))).join('');
}

/** Go's url.PathEscape (a path segment): `$&+:=@` stay as they are. */
export function pathEscape(s: string): string {
  return [...s].map((c) => (/[A-Za-z0-9\-_.~$&+:=@]/.test(c) ? c : hex(c))).join('');
}

/**
 * `ref` (tag defaulting to latest unless it has a digest) and an optional platform as a
 * package URL of `type` (`docker`, or `oci` for images from an OCI layout), as BuildKit's
 * purl.RefToPURL.
 */
export function refToPURL(ref: string, platform?: Platform, type = 'docker'): string {
  const r = parseReference(ref);
  const qualifiers: string[] = [];
  if (r.digest) qualifiers.push(`digest=${pathEscape(r.digest)}`);
  const version = r.tag ?? (r.digest ? undefined : 'latest');
  if (platform) qualifiers.push(`platform=${pathEscape(formatPlatform(platform))}`);
  const parts = familiarName(r).split('/');
  const name = parts.pop()!;
  let purl = `pkg:${type}/`;
  if (parts.length) purl += `${parts.map(queryEscape).join('/')}/`;
  purl += queryEscape(name);
  if (version !== undefined) purl += `@${pathEscape(version)}`;
  if (qualifiers.length) purl += `?${qualifiers.join('&')}`;
  return purl;
}
