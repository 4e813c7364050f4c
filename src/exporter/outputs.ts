/**
 * exporter/outputs — what a build's results go to, decided before anything is built. The
 * `-o` entries, `--push`, `--load` and `-t` become a list of typed outputs with every
 * attribute checked, by buildx's rules:
 *
 * - `-t` names the image, oci and docker outputs that have no `name=`;
 * - `--push` sets `push=true` on the image outputs, or adds `type=image,push=true`;
 * - `--load` adds a load (the local store, and a Docker engine when one is reachable) unless
 *   a `type=docker` output without `dest` is there already (that one *is* a load);
 * - with none of them and some tags, the image goes into the local store under the tags.
 *
 * `dest` paths are made absolute here; `dest=-` (or no `dest` for tar, oci and docker files
 * when stdout is not a terminal) is stdout. Pure.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  type CompressionSpec,
  compressionKey,
  defaultCompression,
  parseCompressionAttrs,
} from '../compress/spec.js';
import { InvalidArgumentError } from '../errors.js';
import { parseGoBool } from '../goparse.js';
import { formatReference, parseImageReference } from '../reference/index.js';
import { type Annotation, annotationFromAttr, annotationsKey } from './annotations.js';

/** `-o type=…,k=v,…` as the CLI parses it (buildx's ExportEntry). */
export interface OutputSpec {
  type: string;
  destination?: string;
  attrs: Record<string, string>;
}

/** How an image is assembled: outputs with equal formats share one set of blobs. */
export interface ImageFormat {
  /** OCI media types (default) or Docker schema 2 (`oci-mediatypes=false`) */
  oci: boolean;
  annotations: Annotation[];
  /** `compression`, `compression-level` (default gzip at level 1) */
  compression: CompressionSpec;
  /** `force-compression`: recompress layers that exist already in another compression */
  forceCompression: boolean;
  /** `oci-artifact=true`: attestation manifests in the OCI 1.1 artifact form (with `subject`) */
  ociArtifact?: boolean;
  /** `attestation-storage=referrers`: attestations pushed as OCI 1.1 referrers, not in the index */
  referrers?: boolean;
}

export type Destination = { kind: 'file'; path: string } | { kind: 'dir'; path: string } | { kind: 'stdout' };

/** `type=image` / `type=registry` / `--push`: the local store and/or a registry. */
export interface ImageOutput {
  type: 'image';
  /** full normalised references */
  names: string[];
  push: boolean;
  /** `push-by-digest`: push without the tag (`repo@sha256:…`) */
  pushByDigest: boolean;
  /** `registry.insecure` / `insecure`: the user expects plain HTTP to the registry */
  insecure: boolean;
  /** name the image in the local store (BuildKit's `store`, default true) */
  store: boolean;
  format: ImageFormat;
}

/** `type=oci` / `type=docker` with a `dest`: an OCI layout (tar or directory) or a `docker load` archive. */
export interface ArchiveOutput {
  type: 'oci' | 'docker';
  names: string[];
  dest: Destination;
  format: ImageFormat;
}

/** `--load` / `type=docker` without `dest`: the local store, and a Docker engine. */
export interface LoadOutput {
  type: 'load';
  names: string[];
  /** `auto`: when an engine is configured or its socket exists; `required`: `--load=docker` */
  docker: 'auto' | 'required';
  format: ImageFormat;
}

/** `type=local` / `type=tar`: the final file tree. */
export interface FilesOutput {
  type: 'local' | 'tar';
  dest: Destination;
  /** one sub-directory per platform (`linux_arm64/…`); default: when several platforms */
  platformSplit?: boolean;
}

/** `type=cacheonly`: nothing leaves the build. */
export interface CacheOnlyOutput {
  type: 'cacheonly';
}

export type Output = ImageOutput | ArchiveOutput | LoadOutput | FilesOutput | CacheOnlyOutput;

export interface ResolveOutputsInput {
  outputs: readonly OutputSpec[];
  tags: readonly string[];
  push: boolean;
  /** `--load` (true), `--load=docker` ('docker') */
  load: boolean | 'docker';
  annotations: readonly Annotation[];
  /** for relative `dest` paths */
  cwd: string;
  /** stdout is a terminal: tarballs are not written to it */
  stdoutIsTTY: boolean;
}

const outputTypes = ['image', 'registry', 'local', 'tar', 'oci', 'docker', 'cacheonly'];

/** Attributes each type takes; `ignored` ones are accepted for buildx compatibility and change nothing. */
const imageAttrs = {
  known: [
    'name',
    'push',
    'push-by-digest',
    'insecure',
    'registry.insecure',
    'oci-mediatypes',
    'oci-artifact',
    'attestation-storage',
    'store',
    'compression',
    'compression-level',
    'force-compression',
  ],
  ignored: [
    'unpack',
    'buildinfo',
    'buildinfo-attrs',
    'dangling-name-prefix',
    'name-canonical',
    'rewrite-timestamp',
  ],
};
const archiveAttrs = {
  known: [
    'name',
    'tar',
    'oci-mediatypes',
    'oci-artifact',
    'compression',
    'compression-level',
    'force-compression',
    'context',
  ],
  ignored: ['buildinfo', 'buildinfo-attrs', 'rewrite-timestamp'],
};
const filesAttrs = { known: ['platform-split'], ignored: [] as string[] };

/** Go's strconv.ParseBool, as BuildKit reads exporter booleans. */
function parseBoolAttr(type: string, key: string, v: string): boolean {
  const b = parseGoBool(v);
  if (b === undefined)
    throw new InvalidArgumentError(`output type=${type}: ${key}=${v}: expected true or false`);
  return b;
}

function normalizedNames(value: string, type: string): string[] {
  return value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '')
    .map((n) => {
      try {
        return formatReference(parseImageReference(n));
      } catch (err) {
        throw new InvalidArgumentError(
          `output type=${type}: invalid name "${n}": ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    });
}

/** Checks an output's attributes; answers its annotations and the attributes it keeps. */
function checkAttrs(
  spec: OutputSpec,
  allowed: { known: readonly string[]; ignored: readonly string[] },
  annotations: Annotation[] | undefined,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.attrs)) {
    if (annotations) {
      const a = annotationFromAttr(k, v);
      if (a) {
        annotations.push(a);
        continue;
      }
    }
    if (allowed.ignored.includes(k)) continue;
    if (!allowed.known.includes(k)) {
      const opts = [...allowed.known, ...(annotations ? ['annotation.KEY'] : [])];
      throw new InvalidArgumentError(
        `unknown option "${k}" for output type=${spec.type}${opts.length ? ` (known: dest, ${opts.join(', ')})` : ' (it takes dest only)'}`,
      );
    }
    kept[k] = v;
  }
  return kept;
}

function formatOf(
  type: string,
  attrs: Record<string, string>,
  annotations: Annotation[],
  defaultOCI: boolean,
): ImageFormat {
  const compression = parseCompressionAttrs(`output type=${type}`, attrs);
  const force = attrs['force-compression'];
  const oci =
    attrs['oci-mediatypes'] === undefined
      ? defaultOCI
      : attrs['oci-mediatypes'] === '' || parseBoolAttr(type, 'oci-mediatypes', attrs['oci-mediatypes']);
  const f: ImageFormat = {
    // zstd exists only as an OCI media type: BuildKit turns OCI media types on for it
    oci: oci || compression.type === 'zstd',
    annotations,
    compression,
    forceCompression:
      force !== undefined && (force === '' || parseBoolAttr(type, 'force-compression', force)),
  };
  return withAttestationStorage(type, attrs, f);
}

/** `oci-artifact=` and `attestation-storage=`: how attestations are kept next to the images. */
function withAttestationStorage(type: string, attrs: Record<string, string>, f: ImageFormat): ImageFormat {
  if (attrs['oci-artifact'] !== undefined && parseBoolAttr(type, 'oci-artifact', attrs['oci-artifact'])) {
    if (!f.oci) {
      throw new InvalidArgumentError(
        `output type=${type}: "oci-artifact=true" conflicts with "oci-mediatypes=false"`,
      );
    }
    f.ociArtifact = true;
  }
  const storage = attrs['attestation-storage'];
  if (storage !== undefined && storage !== 'index' && storage !== 'referrers') {
    throw new InvalidArgumentError(
      `output type=${type}: attestation-storage=${storage}: expected index (as BuildKit) or referrers (OCI 1.1)`,
    );
  }
  if (storage === 'referrers') {
    if (!f.oci) {
      throw new InvalidArgumentError(
        `output type=${type}: attestation-storage=referrers needs OCI media types`,
      );
    }
    f.referrers = true;
  }
  return f;
}

/** The key that decides which outputs can share one assembled image. */
export function formatKey(f: ImageFormat): string {
  return `${f.oci ? 'oci' : 'docker'} ${compressionKey(f.compression)}${f.forceCompression ? ' force' : ''}${f.ociArtifact ? ' artifact' : ''}${f.referrers ? ' referrers' : ''} ${annotationsKey(f.annotations)}`;
}

function destinationOf(
  spec: OutputSpec,
  kind: 'file' | 'dir',
  cwd: string,
  stdoutIsTTY: boolean,
): Destination {
  const d = spec.destination;
  if (d === undefined || d === '' || d === '-') {
    if (kind === 'dir') {
      throw new InvalidArgumentError(
        d === '-'
          ? `output type=${spec.type}: dest=- is not supported for a directory (use type=tar to write to stdout)`
          : `output type=${spec.type}: dest directory is required (dest=DIR)`,
      );
    }
    if (stdoutIsTTY) {
      throw new InvalidArgumentError(
        `output type=${spec.type}: dest file is required for ${spec.type} exporter. refusing to write to console`,
      );
    }
    return { kind: 'stdout' };
  }
  return { kind, path: isAbsolute(d) ? d : resolve(cwd, d) };
}

function imageDefaults(names: string[], format: ImageFormat): ImageOutput {
  return { type: 'image', names, push: false, pushByDigest: false, insecure: false, store: true, format };
}

/** The outputs of a build, checked (see the module comment for the rules). */
export function resolveOutputs(input: ResolveOutputsInput): Output[] {
  const tags = input.tags.flatMap((t) => normalizedNames(t, 'image'));
  const out: Output[] = [];
  let loads = 0;
  for (const spec of input.outputs) {
    if (!outputTypes.includes(spec.type)) {
      throw new InvalidArgumentError(
        `unknown output type "${spec.type}": expected one of ${outputTypes.join(', ')}`,
      );
    }
    const annotations: Annotation[] = [...input.annotations];
    switch (spec.type) {
      case 'image':
      case 'registry': {
        if (spec.destination !== undefined) {
          throw new InvalidArgumentError(
            `output type=${spec.type} takes no dest (it names images: name=REF)`,
          );
        }
        const attrs = checkAttrs(spec, imageAttrs, annotations);
        const push =
          spec.type === 'registry'
            ? attrs.push !== 'false'
            : parseBoolAttr('image', 'push', attrs.push ?? 'false');
        out.push({
          type: 'image',
          names: attrs.name !== undefined ? normalizedNames(attrs.name, spec.type) : tags,
          push,
          pushByDigest: parseBoolAttr('image', 'push-by-digest', attrs['push-by-digest'] || 'false'),
          insecure: parseBoolAttr(
            'image',
            'registry.insecure',
            attrs['registry.insecure'] || attrs.insecure || 'false',
          ),
          store: parseBoolAttr('image', 'store', attrs.store ?? 'true'),
          format: formatOf('image', attrs, annotations, true),
        });
        break;
      }
      case 'oci':
      case 'docker': {
        const attrs = checkAttrs(spec, archiveAttrs, annotations);
        const names = attrs.name !== undefined ? normalizedNames(attrs.name, spec.type) : tags;
        const format = formatOf(spec.type, attrs, annotations, spec.type === 'oci');
        if (spec.type === 'docker' && (spec.destination === undefined || spec.destination === '')) {
          out.push({ type: 'load', names, docker: 'auto', format });
          loads++;
          break;
        }
        const tar = parseBoolAttr(spec.type, 'tar', attrs.tar ?? 'true');
        out.push({
          type: spec.type,
          names,
          dest: destinationOf(spec, tar ? 'file' : 'dir', input.cwd, input.stdoutIsTTY),
          format,
        });
        break;
      }
      case 'local':
      case 'tar': {
        const attrs = checkAttrs(spec, filesAttrs, undefined);
        const o: FilesOutput = {
          type: spec.type,
          dest: destinationOf(spec, spec.type === 'local' ? 'dir' : 'file', input.cwd, input.stdoutIsTTY),
        };
        if (attrs['platform-split'] !== undefined) {
          o.platformSplit = parseBoolAttr(spec.type, 'platform-split', attrs['platform-split']);
        }
        out.push(o);
        break;
      }
      case 'cacheonly':
        checkAttrs(spec, { known: [], ignored: [] }, undefined);
        out.push({ type: 'cacheonly' });
        break;
    }
  }
  const format: ImageFormat = {
    oci: true,
    annotations: [...input.annotations],
    compression: defaultCompression,
    forceCompression: false,
  };
  if (input.push) {
    const images = out.filter((o): o is ImageOutput => o.type === 'image');
    for (const o of images) o.push = true;
    if (images.length === 0) {
      out.push({ ...imageDefaults(tags, format), push: true });
    }
  }
  if (input.load !== false) {
    const docker = input.load === 'docker' ? 'required' : 'auto';
    const existing = out.filter((o): o is LoadOutput => o.type === 'load');
    for (const o of existing) o.docker = docker;
    if (existing.length === 0) {
      out.push({ type: 'load', names: tags, docker, format });
      loads++;
    }
  }
  if (out.length === 0 && tags.length > 0) {
    out.push(imageDefaults(tags, format));
  }
  for (const o of out) {
    if (o.type === 'image' && o.push && o.names.length === 0) {
      throw new InvalidArgumentError('tag is needed when pushing to registry (-t NAME or name=NAME)');
    }
  }
  if (loads > 1)
    throw new InvalidArgumentError('only one load (--load or type=docker without dest) per build');
  const stdouts = out.filter((o) => 'dest' in o && o.dest.kind === 'stdout').length;
  if (stdouts > 1) throw new InvalidArgumentError('only one output can be written to stdout');
  return out;
}

/** True when some output writes to stdout (then the image ID is not printed there). */
export function writesStdout(outputs: readonly Output[]): boolean {
  return outputs.some((o) => 'dest' in o && o.dest.kind === 'stdout');
}
