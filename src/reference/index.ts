/**
 * reference — image references with the distribution grammar and docker's normalisation.
 *
 *     parseReference('busybox')                → docker.io/library/busybox (tag: undefined)
 *     parseImageReference('busybox')           → docker.io/library/busybox:latest
 *     parseReference('localhost:5000/a/b:t@sha256:…')
 *     familiarString(parseReference('docker.io/library/busybox:1.35')) → 'busybox:1.35'
 *
 * The grammar (github.com/distribution/reference):
 *
 *     reference        := name [ ":" tag ] [ "@" digest ]
 *     name             := [domain '/'] remote-name
 *     domain           := host [':' port-number]
 *     remote-name      := path-component ['/' path-component]*
 *     path-component   := alpha-numeric [separator alpha-numeric]*
 *     separator        := /[_.]|__|[-]+/
 *     tag              := /[\w][\w.-]{0,127}/
 *
 * A first component is a domain only when it contains `.` or `:`, is `localhost`, or has an
 * upper-case letter; otherwise the name is on Docker Hub. Pure: no I/O.
 */
import { InvalidArgumentError } from '../errors.js';
import { type Digest, isDigest } from '../oci/digest.js';

export const defaultDomain = 'docker.io';
export const legacyDefaultDomain = 'index.docker.io';
export const officialRepoPrefix = 'library/';
export const defaultTag = 'latest';
const nameTotalLengthMax = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})`;
const domainRe = new RegExp(`^${host}(?::[0-9]+)?$`);
const pathComponentRe = /^[a-z0-9]+(?:(?:[_.]|__|[-]+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const anchoredHex64 = /^[a-f0-9]{64}$/;

/** A parsed, normalised image reference. */
export interface Reference {
  /** registry host with optional port: `docker.io`, `localhost:5000` */
  readonly domain: string;
  /** repository path inside the registry: `library/busybox`, `a/b` */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

function fail(input: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid reference "${input}": ${why}`);
}

/**
 * Parses `s` with docker's normalisation (ParseNormalizedNamed). Does not add a default tag;
 * see `parseImageReference` for that.
 */
export function parseReference(s: string): Reference {
  if (s === '') throw fail(s, 'empty reference');
  if (anchoredHex64.test(s)) {
    throw fail(s, 'cannot specify 64-byte hexadecimal strings as a repository name');
  }
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw fail(s, `invalid digest "${d}"`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw fail(s, `invalid tag "${tag}"`);
  }
  if (rest === '') throw fail(s, 'repository name must have at least one component');

  let domain: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = defaultDomain;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === legacyDefaultDomain) domain = defaultDomain;
  if (domain === defaultDomain && !path.includes('/')) path = officialRepoPrefix + path;

  if (!domainRe.test(domain)) throw fail(s, `invalid registry host "${domain}"`);
  if (path !== path.toLowerCase()) throw fail(s, `repository name (${path}) must be lowercase`);
  for (const component of path.split('/')) {
    if (!pathComponentRe.test(component)) {
      throw fail(
        s,
        component === '' ? 'empty path component' : `invalid repository path component "${component}"`,
      );
    }
  }
  if (domain.length + 1 + path.length > nameTotalLengthMax) {
    throw fail(s, `repository name must not be more than ${nameTotalLengthMax} characters`);
  }
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Parses `s` and adds `:latest` when it has neither tag nor digest (docker's TagNameOnly). */
export function parseImageReference(s: string): Reference {
  return withDefaultTag(parseReference(s));
}

export function withDefaultTag(ref: Reference): Reference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return { ...ref, tag: defaultTag };
}

/** `domain/path`, the full repository name. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full, normalised string: `docker.io/library/busybox:latest@sha256:…`. */
export function formatReference(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The short name docker prints: `busybox`, `user/app`, `localhost:5000/a/b`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== defaultDomain) return repositoryName(ref);
  return ref.path.startsWith(officialRepoPrefix) && ref.path.split('/').length === 2
    ? ref.path.slice(officialRepoPrefix.length)
    : ref.path;
}

/** The short form with tag and digest: `busybox:1.35`. */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** A copy of `ref` pinned to `digest` (keeping its tag, as BuildKit prints `name:tag@digest`). */
export function withDigest(ref: Reference, digest: Digest): Reference {
  return { ...ref, digest };
}
