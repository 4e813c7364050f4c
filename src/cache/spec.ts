/**
 * cache/spec — `--cache-to` and `--cache-from` checked and resolved: which cache (local,
 * registry, inline), where, and how much. Paths are made absolute against the working directory; a `dest` that is not a
 * directory is refused before the build (unless `ignore-error=true`: then the export warns).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CacheSpec } from '../build/options.js';
import { type CompressionSpec, parseCompressionAttrs } from '../compress/spec.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { type Digest, isDigest } from '../oci/digest.js';
import { parseImageReference, type Reference } from '../reference/index.js';

export type CacheMode = 'min' | 'max';

/** How a cache's layers are written: `compression=`, `compression-level=`, `force-compression=`. */
export interface CacheLayerFormat {
  compression: CompressionSpec;
  /** recompress layers that exist already in another compression (a base image's) */
  forceCompression: boolean;
}

/** A `--cache-to`; `name` is how the user wrote it, for messages. */
export type CacheExport = { mode: CacheMode; ignoreError: boolean; name: string } & (
  | ({ type: 'local'; dest: string } & CacheLayerFormat)
  | ({ type: 'registry'; ref: Reference } & CacheLayerFormat)
  | { type: 'inline' }
);

/** A `--cache-from` (a bare reference is `type=registry,ref=…`). */
export type CacheImport = { name: string } & (
  | { type: 'local'; src: string; digest?: Digest }
  | { type: 'registry'; ref: Reference }
);

const unsupported = new Set(['gha', 's3', 'azblob']);

function checkType(spec: CacheSpec, flag: string): void {
  if (unsupported.has(spec.type)) {
    throw new UnsupportedError(
      `${flag} type=${spec.type} is not supported: polyarch exports and imports caches of type local, registry and inline only`,
    );
  }
  if (spec.type === 'inline' && flag === '--cache-from') {
    throw new InvalidArgumentError(`${flag} type=inline: name the image instead (--cache-from reg/app:tag)`);
  }
  if (spec.type !== 'local' && spec.type !== 'registry' && spec.type !== 'inline') {
    throw new InvalidArgumentError(`${flag}: unknown cache type "${spec.type}"`);
  }
}

function nameOf(spec: CacheSpec): string {
  return [`type=${spec.type}`, ...Object.entries(spec.attrs).map(([k, v]) => `${k}=${v}`)].join(',');
}

function boolAttr(spec: CacheSpec, key: string, flag: string, dflt = false): boolean {
  const v = spec.attrs[key];
  if (v === undefined || v === '') return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InvalidArgumentError(`${flag}: invalid ${key} "${v}": expected true or false`);
}

/**
 * `ref=` of a registry cache, and the attributes that ask for a form polyarch does not write:
 * its cache is always one OCI image manifest.
 */
function registryRef(spec: CacheSpec, flag: string): Reference {
  const ref = spec.attrs.ref;
  if (!ref) throw new InvalidArgumentError(`${flag} type=registry: ref is required`);
  for (const key of ['oci-mediatypes', 'image-manifest']) {
    if (!boolAttr(spec, key, flag, true)) {
      throw new UnsupportedError(
        `${flag} ${key}=false is not supported: polyarch's cache is always an OCI image manifest`,
      );
    }
  }
  try {
    return parseImageReference(ref);
  } catch (err) {
    throw new InvalidArgumentError(`${flag} ${nameOf(spec)}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The layer format of a local or registry `--cache-to`, as BuildKit takes it: gzip unless
 * `compression=` says otherwise. Without `force-compression`, a layer that came with a blob (a
 * base image's) is written as that blob (exporter/assemble's rule).
 */
function layerFormat(spec: CacheSpec, flag: string): CacheLayerFormat {
  return {
    compression: parseCompressionAttrs(`${flag} type=${spec.type}`, spec.attrs),
    forceCompression: boolAttr(spec, 'force-compression', flag),
  };
}

export function resolveCacheExports(specs: readonly CacheSpec[], cwd: string): CacheExport[] {
  return specs.map((spec) => {
    const flag = '--cache-to';
    checkType(spec, flag);
    const mode = spec.attrs.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max') {
      throw new InvalidArgumentError(`${flag}: invalid mode "${mode}": expected min or max`);
    }
    const ignoreError = boolAttr(spec, 'ignore-error', flag);
    const name = nameOf(spec);
    if (spec.type === 'registry') {
      return {
        type: 'registry',
        ref: registryRef(spec, flag),
        mode,
        ignoreError,
        name,
        ...layerFormat(spec, flag),
      };
    }
    if (spec.type === 'inline') {
      if (mode !== 'min') throw new UnsupportedError(`${flag} type=inline supports mode=min only`);
      return { type: 'inline', mode, ignoreError, name };
    }
    const dest = spec.attrs.dest;
    if (!dest) throw new InvalidArgumentError(`${flag} type=local: dest is required`);
    const path = resolve(cwd, dest);
    if (!ignoreError && existsSync(path) && !statSync(path).isDirectory()) {
      throw new InvalidArgumentError(`${flag} ${name}: ${path} is not a directory`);
    }
    return { type: 'local', dest: path, mode, ignoreError, name, ...layerFormat(spec, flag) };
  });
}

export function resolveCacheImports(specs: readonly CacheSpec[], cwd: string): CacheImport[] {
  return specs.map((spec) => {
    const flag = '--cache-from';
    checkType(spec, flag);
    const name = nameOf(spec);
    if (spec.type === 'registry') return { type: 'registry', ref: registryRef(spec, flag), name };
    const src = spec.attrs.src;
    if (!src) throw new InvalidArgumentError(`${flag} type=local: src is required`);
    const digest = spec.attrs.digest;
    if (digest !== undefined && !isDigest(digest)) {
      throw new InvalidArgumentError(`${flag} ${name}: invalid digest "${digest}"`);
    }
    return { type: 'local', src: resolve(cwd, src), name, ...(digest ? { digest } : {}) };
  });
}
