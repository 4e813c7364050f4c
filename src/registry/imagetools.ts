/**
 * registry/imagetools — `imagetools create` and `inspect` as buildx does them: join images or
 * indexes into one index (deduplicated by digest, platforms read from configs when a source is
 * a lone manifest, a Docker manifest list when every entry is a Docker type and an OCI index
 * otherwise), copy what the sources hold into the target repository, and push the index.
 *
 * `combineIndex` is pure; the index JSON is laid out as buildx's
 * (two-space indent, Go's field order), so `--dry-run` prints the same bytes.
 */
import { platformOfConfig } from '../content/images.js';
import { childrenOf } from '../content/walk.js';
import { InvalidArgumentError, NotFoundError, PolyarchError } from '../errors.js';
import type { Annotation } from '../exporter/annotations.js';
import { type Digest, digestOf } from '../oci/digest.js';
import { isIndexType, MediaTypeDockerManifestList, MediaTypeImageIndex } from '../oci/mediatypes.js';
import type { Descriptor, ImageConfig, Platform } from '../oci/types.js';
import { samePlatform } from '../platforms/index.js';
import { formatReference, type Reference, repositoryName } from '../reference/index.js';
import type { RegistryClient } from './client.js';
import { repositorySource } from './copy.js';
import { createLimiter, runAll } from './limit.js';
import { fetchManifests, type Resolved, resolve } from './pull.js';
import { type TransferEvent, transferImage } from './transfer.js';

export interface CombineSource {
  /** the source's descriptor; a lone manifest's must carry its platform */
  descriptor: Descriptor;
  bytes: Uint8Array;
  /** the parsed index, when the source is one */
  manifests?: readonly Descriptor[];
}

/** The joined index, its bytes and descriptor. */
export interface CombinedIndex {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** Joins sources into one index (buildx's Resolver.Combine, with preferIndex). */
export function combineIndex(
  sources: readonly CombineSource[],
  annotations: readonly Annotation[],
): CombinedIndex {
  if (sources.length === 1 && annotations.length === 0 && isIndexType(sources[0]!.descriptor.mediaType)) {
    const s = sources[0]!;
    return {
      descriptor: { mediaType: s.descriptor.mediaType, digest: s.descriptor.digest, size: s.descriptor.size },
      bytes: Buffer.from(s.bytes),
    };
  }
  const order: Descriptor[] = [];
  const byDigest = new Map<string, number>();
  const add = (d: Descriptor) => {
    const i = byDigest.get(d.digest);
    if (i === undefined) {
      byDigest.set(d.digest, order.length);
      order.push({ ...d, ...(d.annotations ? { annotations: { ...d.annotations } } : {}) });
      return;
    }
    const old = order[i]!;
    if (!old.mediaType) old.mediaType = d.mediaType;
    if (d.platform) old.platform = d.platform;
    if (d.annotations) old.annotations = { ...(old.annotations ?? {}), ...d.annotations };
  };
  for (const s of sources) {
    if (s.manifests) for (const d of s.manifests) add(d);
    else add(s.descriptor);
  }
  const docker = order.every((d) => d.mediaType.startsWith('application/vnd.docker.'));
  const mediaType = docker ? MediaTypeDockerManifestList : MediaTypeImageIndex;
  const indexAnnotations: Record<string, string> = {};
  for (const a of annotations) {
    if (docker) {
      throw new InvalidArgumentError(
        `annotation "${a.key}" needs an OCI index, but every source is a Docker manifest (a Docker manifest list has no annotations)`,
      );
    }
    for (const type of a.types.length ? a.types : (['index'] as const)) {
      switch (type) {
        case 'index':
          indexAnnotations[a.key] = a.value;
          break;
        case 'manifest-descriptor':
          for (const d of order) {
            if (a.platform && !(d.platform && samePlatform(d.platform, a.platform))) continue;
            d.annotations = { ...(d.annotations ?? {}), [a.key]: a.value };
          }
          break;
        case 'manifest':
          throw new InvalidArgumentError(
            `"manifest" annotations are not supported by imagetools create (annotation "${a.key}")`,
          );
        case 'index-descriptor':
          throw new InvalidArgumentError(
            `"index-descriptor" annotations are invalid while creating an image (annotation "${a.key}")`,
          );
      }
    }
  }
  const index = goOrderIndex(mediaType, order, indexAnnotations);
  const bytes = Buffer.from(JSON.stringify(index, null, 2), 'utf8');
  return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}

/** The index with keys in the order Go's image-spec structs marshal them. */
function goOrderIndex(
  mediaType: string,
  manifests: readonly Descriptor[],
  annotations: Record<string, string>,
): object {
  const platform = (p: Platform) => ({
    architecture: p.architecture,
    os: p.os,
    ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}),
    ...(p['os.features']?.length ? { 'os.features': p['os.features'] } : {}),
    ...(p.variant ? { variant: p.variant } : {}),
  });
  const descriptor = (d: Descriptor) => ({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.urls?.length ? { urls: d.urls } : {}),
    ...(d.annotations && Object.keys(d.annotations).length
      ? { annotations: sortedRecord(d.annotations) }
      : {}),
    ...(d.data ? { data: d.data } : {}),
    ...(d.platform ? { platform: platform(d.platform) } : {}),
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
  });
  return {
    schemaVersion: 2,
    mediaType,
    manifests: manifests.map(descriptor),
    ...(Object.keys(annotations).length ? { annotations: sortedRecord(annotations) } : {}),
  };
}

/** Go marshals maps with sorted keys. */
function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A resolved source, with the platform of a lone manifest read from its config. */
async function loadSource(
  client: RegistryClient,
  ref: Reference,
  what: string,
): Promise<{ resolved: Resolved; source: CombineSource }> {
  const resolved = await resolve(client, ref, what);
  if (resolved.parsed.kind === 'index') {
    return {
      resolved,
      source: {
        descriptor: resolved.descriptor,
        bytes: resolved.bytes,
        manifests: resolved.parsed.index.manifests,
      },
    };
  }
  const cfg = resolved.parsed.manifest.config;
  const config = JSON.parse(
    (await client.repository(ref).fetchBlob(cfg, `${what}: config ${cfg.digest}`)).toString('utf8'),
  ) as ImageConfig;
  const platform = platformOfConfig(config);
  return { resolved, source: { descriptor: { ...resolved.descriptor, platform }, bytes: resolved.bytes } };
}

export interface CreateOptions {
  client: RegistryClient;
  /** images or indexes to join, in order */
  sources: readonly Reference[];
  /** where to push the index (at least one unless dryRun) */
  tags: readonly Reference[];
  /** add the manifests of the index already at the first tag (if there is one) */
  append?: boolean;
  annotations?: readonly Annotation[];
  /** build the index, push nothing */
  dryRun?: boolean;
  onEvent?: (e: TransferEvent) => void;
}

/** Creates an index from sources and pushes it to every tag; answers it. */
export async function createIndex(opts: CreateOptions): Promise<CombinedIndex> {
  const { client } = opts;
  if (opts.sources.length === 0 && !opts.append) throw new InvalidArgumentError('no sources specified');
  if (!opts.dryRun && opts.tags.length === 0) {
    throw new InvalidArgumentError("can't push with no tags specified, please set --tag or --dry-run");
  }
  const what = `creating ${opts.tags.length ? opts.tags.map(formatReference).join(', ') : 'an index'}`;
  const refs = [...opts.sources];
  const loaded: { resolved: Resolved; source: CombineSource }[] = new Array(refs.length);
  await runAll(createLimiter(client.concurrency), [...refs.keys()], async (i) => {
    loaded[i] = await loadSource(client, refs[i]!, `${what}: reading ${formatReference(refs[i]!)}`);
  });
  if (opts.append && opts.tags.length) {
    // the index already at the first tag comes first; a tag not pushed yet is fine
    const tag = opts.tags[0]!;
    try {
      loaded.unshift(await loadSource(client, tag, `${what}: reading ${formatReference(tag)}`));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  if (loaded.length === 0) throw new InvalidArgumentError('no sources specified');
  const combined = combineIndex(
    loaded.map((l) => l.source),
    opts.annotations ?? [],
  );
  if (opts.dryRun) return combined;

  const filled = new Set<string>();
  for (const tag of opts.tags) {
    const pushWhat = `pushing ${formatReference(tag)}`;
    // bring each source's manifests and blobs into the tag's repository, once per repository
    if (!filled.has(repositoryName(tag))) {
      await copySources(client, loaded, tag, pushWhat, opts.onEvent);
      filled.add(repositoryName(tag));
    }
    await client
      .repository(tag)
      .putManifest(
        tag.tag ?? tag.digest ?? 'latest',
        combined.bytes,
        combined.descriptor.mediaType,
        `${pushWhat}: index`,
      );
    opts.onEvent?.({ type: 'manifest', descriptor: combined.descriptor, ref: formatReference(tag) });
  }
  return combined;
}

/** Copies the manifests and blobs of sources in other repositories into the repository of `tag`. */
async function copySources(
  client: RegistryClient,
  loaded: readonly { resolved: Resolved }[],
  tag: Reference,
  what: string,
  onEvent: ((e: TransferEvent) => void) | undefined,
): Promise<void> {
  for (const { resolved } of loaded) {
    if (repositoryName(resolved.ref) === repositoryName(tag)) continue;
    const srcRepo = client.repository(resolved.ref);
    const { children, blobs } =
      resolved.parsed.kind === 'index'
        ? await fetchManifests(client, srcRepo, resolved.parsed.index.manifests, what)
        : {
            children: [{ descriptor: resolved.descriptor, bytes: resolved.bytes }],
            blobs: childrenOf(resolved.parsed),
          };
    await transferImage({
      client,
      source: repositorySource(srcRepo),
      dst: tag,
      plan: { top: undefined, children, blobs },
      what: `${what}: copying ${formatReference(resolved.ref)}`,
      ...(onEvent ? { onEvent } : {}),
    });
  }
}

/** What `imagetools inspect` shows of a reference. */
export interface Inspection {
  name: string;
  descriptor: Descriptor;
  /** as the registry sent them (for `--raw`) */
  raw: Buffer;
  /** the index's manifests (undefined for a lone manifest) */
  manifests: Descriptor[] | undefined;
}

/** Resolves a reference for `imagetools inspect`. */
export async function inspectRemote(client: RegistryClient, ref: Reference): Promise<Inspection> {
  const r = await resolve(client, ref, `inspecting ${formatReference(ref)}`);
  return {
    name: formatReference(ref),
    descriptor: r.descriptor,
    raw: r.bytes,
    manifests: r.parsed.kind === 'index' ? r.parsed.index.manifests : undefined,
  };
}

/** Fails unless a digest source names a repository (buildx's "cannot infer repository"). */
export function sourceWithRepository(source: string, digest: Digest, repos: readonly Reference[]): Reference {
  const names = new Set(repos.map(repositoryName));
  if (names.size !== 1) {
    throw new PolyarchError(
      'INVALID_ARGUMENT',
      `multiple repositories specified, cannot infer repository for "${source}"`,
    );
  }
  const r = repos[0]!;
  return { domain: r.domain, path: r.path, digest };
}
