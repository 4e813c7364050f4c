/**
 * exporter/assemble — the solved builds of every platform → image blobs in the local content
 * store: each built layer compressed once (and remembered by its snapshot, so a rebuild
 * reuses the blob), the history aligned with the layers, config and manifest per platform,
 * and the index that joins them. Outputs (the store's names, a registry, tarballs) start from
 * what this returns.
 *
 * A built layer's default blob (gzip, level 1) is recorded by its snapshot. With
 * SOURCE_DATE_EPOCH, or in another compression or level (zstd, uncompressed, gzip at 9), it
 * is written apart from that record, and remembered per snapshot, epoch and compression in
 * `exportsDir`; a base layer recompressed by `force-compression` is remembered there per blob
 * and compression. So a rebuild from cache compresses nothing again. Compression runs on the
 * build's worker-thread pool (compress/pool) when one is passed.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Capture } from '../attest/capture.js';
import {
  AttestationManifestArtifactType,
  AttestationPlatform,
  statementOf,
  subjectsFor,
  writeAttestationManifest,
} from '../attest/layout.js';
import type { Attestation } from '../attest/types.js';
import { cacheConfig, InlineCacheField } from '../cache/format.js';
import type { Compressor } from '../compress/compressor.js';
import {
  type CompressionSpec,
  compressionKey,
  compressionOfMediaType,
  defaultCompression,
  layerMediaType,
} from '../compress/spec.js';
import type { ContentStore } from '../content/index.js';
import { writeFileDurably } from '../durable.js';
import { StoreError } from '../errors.js';
import type { HistoryStep } from '../graph/convert.js';
import type { LayerInfo } from '../graph/ops.js';
import { type Digest, digestHex } from '../oci/digest.js';
import { goJSONBytes } from '../oci/json.js';
import { MediaTypeDockerConfig, MediaTypeImageConfig } from '../oci/mediatypes.js';
import type { ContainerConfig, Descriptor, History, ImageConfig, Platform } from '../oci/types.js';
import type { VertexHandle } from '../progress/writer.js';
import { openLayer } from '../snapshot/compression.js';
import { diffUpperDir, writeLayer } from '../snapshot/diff.js';
import type { Snapshot, SnapshotStore } from '../snapshot/index.js';
import { type ExportLayer, epochToRFC3339, imageConfig, imageIndex, imageManifest } from './image.js';

export interface PlatformBuild {
  platform: Platform;
  config: ContainerConfig;
  author?: string;
  history: HistoryStep[];
  /** cache keys of the history's steps */
  stepKeys: Map<HistoryStep, Digest>;
  /** the solved layer chain, bottom first */
  layers: LayerInfo[];
  /** the base image's `created`, used when the build added no layer */
  baseCreated?: string;
  /** the cache key of the final step (what `--cache-to mode=min` records) */
  key?: Digest;
  /** every step of the solve with a layer chain (what `--cache-to mode=max` records) */
  steps?: readonly SolvedStep[];
  /** image config fields a BuildKit node set that are kept as they are (its inline cache) */
  configFields?: Record<string, unknown>;
  /** what the node's SBOM scan of this platform wrote (subjects are filled in at export) */
  sbom?: readonly Attestation[];
  /** what provenance records of this platform's graph (when the build asked for provenance) */
  provenance?: Capture;
}

/** A solved step: its cache key and its filesystem. */
export interface SolvedStep {
  key: Digest;
  description: string;
  layers: LayerInfo[];
}

export type ExportLayersOptions = Pick<
  AssembleOptions,
  | 'content'
  | 'snapshots'
  | 'sourceDateEpoch'
  | 'compression'
  | 'forceCompression'
  | 'compressor'
  | 'exportsDir'
>;

export interface AssembleOptions {
  content: ContentStore;
  snapshots: SnapshotStore;
  /** OCI media types (default) or Docker schema 2 */
  oci: boolean;
  /** SOURCE_DATE_EPOCH: clamps layer mtimes and dates the image */
  sourceDateEpoch?: number;
  /** index (or the single manifest) annotations */
  annotations?: Record<string, string>;
  manifestAnnotations?: Record<string, string>;
  /** per platform: the manifest's annotations and those of its entry in the index */
  platformAnnotations?: (p: Platform) => {
    manifest: Record<string, string>;
    descriptor: Record<string, string>;
  };
  /** always make an index, even for one platform */
  forceIndex?: boolean;
  progress?: VertexHandle;
  /** how built layers are compressed; default gzip at level 1 */
  compression?: CompressionSpec;
  /** recompress layers that came with a blob in another compression (`force-compression`) */
  forceCompression?: boolean;
  /** who compresses (the build's worker-thread pool); default this thread */
  compressor?: Compressor;
  /** layers exported already, by snapshot (share it between assemblies of one build) */
  layerMemo?: Map<string, Promise<ExportLayer>>;
  /** where layers exported with SOURCE_DATE_EPOCH are remembered (`<root>/cache/layer-exports`) */
  exportsDir?: string;
  /** `--cache-to type=inline`: the config carries the image's cache description (cache/format) */
  inlineCache?: boolean;
  /** the attestations to attach to each platform's image (attest/) */
  attestations?: AttestationSource;
  /** `oci-artifact=true`: attestation manifests in the OCI 1.1 artifact form (with `subject`) */
  attestationArtifacts?: boolean;
  /** `attestation-storage=referrers`: attestation manifests left out of the index, kept as referrers */
  attestationReferrers?: boolean;
}

/** What is attached to each platform's image (BuildKit's attestations of a result). */
export interface AttestationSource {
  /** the image names the statements' subjects carry */
  names: readonly string[];
  /** the attestations of one platform's image, once its layers are exported (none: a file tree) */
  of(build: PlatformBuild, layers: readonly ExportLayer[]): Promise<Attestation[]>;
}

export interface AssembledImage {
  platform: Platform;
  manifest: Descriptor;
  config: Descriptor;
  layers: ExportLayer[];
  /** the attestation manifest about this image, as the index lists it */
  attestation?: Descriptor;
}

export interface Assembled {
  /** the index for several platforms, else the one manifest */
  top: Descriptor;
  images: AssembledImage[];
  /** with `attestation-storage=referrers`: each attestation manifest and the image it is about */
  referrers?: { subject: Descriptor; manifest: Descriptor }[];
}

/**
 * Compresses built layers into the store (once per snapshot and compression) and returns blob
 * + diffID per layer. Layers that came with a blob (a base image's) keep it, whatever its
 * compression, unless `forceCompression` asks for them in `compression` (BuildKit's rule); a
 * lazy layer's blob (an imported cache's, which may hold it alone) is taken as it is.
 */
export async function exportLayers(
  opts: ExportLayersOptions,
  layers: readonly LayerInfo[],
  memo: Map<string, Promise<ExportLayer>>,
): Promise<ExportLayer[]> {
  const spec = opts.compression ?? defaultCompression;
  const one = (l: LayerInfo): Promise<ExportLayer> => {
    // a lazy layer (an imported cache's) is exactly the blob the exporting build had
    if (l.origin && l.blob && l.diffID) return Promise.resolve({ diffID: l.diffID, blob: l.blob });
    const key = `${l.snapshot} ${opts.sourceDateEpoch ?? ''} ${compressionKey(spec)}${opts.forceCompression ? ' force' : ''}`;
    let p = memo.get(key);
    if (!p) {
      p = exportLayer(opts, l, spec);
      memo.set(key, p);
    }
    return p;
  };
  return Promise.all(layers.map(one));
}

async function exportLayer(
  opts: ExportLayersOptions,
  l: LayerInfo,
  spec: CompressionSpec,
): Promise<ExportLayer> {
  const snap = await opts.snapshots.mustGet(l.snapshot);
  if (snap.kind === 'committed') {
    if (opts.sourceDateEpoch !== undefined || compressionKey(spec) !== compressionKey(defaultCompression)) {
      return rememberedLayer(
        opts,
        `${snap.id}-${opts.sourceDateEpoch ?? 'none'}-${compressionKey(spec)}`,
        () => diffedLayer(opts, snap, spec),
      );
    }
  }
  const existing = await existingBlob(opts, l, snap);
  if (!existing) return snapshotLayer(opts, snap, spec);
  if (!opts.forceCompression || compressionOfMediaType(existing.blob.mediaType) === spec.type)
    return existing;
  return rememberedLayer(opts, `${digestHex(existing.blob.digest)}-${compressionKey(spec)}`, () =>
    recompressedLayer(opts, existing, spec),
  );
}

/** The blob the layer (or its snapshot) came with, when the store has it. */
async function existingBlob(
  opts: ExportLayersOptions,
  l: LayerInfo,
  snap: Snapshot,
): Promise<ExportLayer | undefined> {
  if (l.blob && l.diffID && (await opts.content.has(l.blob.digest)))
    return { diffID: l.diffID, blob: l.blob };
  if (snap.blob && snap.diffID && (await opts.content.has(snap.blob.digest))) {
    return { diffID: snap.diffID, blob: { ...snap.blob, digest: snap.blob.digest } };
  }
  return undefined;
}

/** A built layer in the default form: diffed by the snapshot store, which records the blob. */
async function snapshotLayer(
  opts: ExportLayersOptions,
  snap: Snapshot,
  spec: CompressionSpec,
): Promise<ExportLayer> {
  return intoStore(opts, spec, `layer of snapshot ${snap.id}`, (sink) =>
    opts.snapshots.diff(snap, sink, {
      compression: spec,
      ...(opts.compressor ? { compressor: opts.compressor } : {}),
    }),
  );
}

/**
 * A built layer in another form (mtimes clamped to SOURCE_DATE_EPOCH, or not gzip at the
 * default level): diffed
 * straight from the snapshot's directory, not through the snapshot store, whose record of the
 * layer's blob stays the default one.
 */
async function diffedLayer(
  opts: ExportLayersOptions,
  snap: Snapshot,
  spec: CompressionSpec,
): Promise<ExportLayer> {
  const epoch = opts.sourceDateEpoch;
  const what = `layer of snapshot ${snap.id}${epoch !== undefined ? ` (SOURCE_DATE_EPOCH=${epoch})` : ''}`;
  return intoStore(opts, spec, what, (sink) =>
    diffUpperDir(snap.dir, sink, {
      ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
      compression: spec,
      ...(opts.compressor ? { compressor: opts.compressor } : {}),
    }),
  );
}

/** A layer that has a blob in another compression, decompressed and compressed as `spec` says. */
async function recompressedLayer(
  opts: ExportLayersOptions,
  from: ExportLayer,
  spec: CompressionSpec,
): Promise<ExportLayer> {
  const what = `layer ${from.blob.digest} (to ${compressionKey(spec)})`;
  const layer = await intoStore(opts, spec, what, async (sink) => {
    const opened = await openLayer(await opts.content.openBlob(from.blob.digest), from.blob.mediaType, what);
    return writeLayer(opened.tar, sink, {
      compression: spec,
      ...(opts.compressor ? { compressor: opts.compressor } : {}),
    });
  });
  if (layer.diffID !== from.diffID) {
    throw new StoreError(`recompressing ${what}: its tar is ${layer.diffID}, expected ${from.diffID}`);
  }
  return layer;
}

/** Writes a layer into the content store through `write`; nothing is kept when it fails. */
async function intoStore(
  opts: ExportLayersOptions,
  spec: CompressionSpec,
  what: string,
  write: (sink: Writable) => Promise<{ diffID: Digest; mediaType: string }>,
): Promise<ExportLayer> {
  const writer = await opts.content.openWriter({ mediaType: layerMediaType(spec.type), what });
  try {
    const info = await write(writer.stream);
    const desc = await writer.commit();
    return { diffID: info.diffID, blob: { mediaType: info.mediaType, digest: desc.digest, size: desc.size } };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * A layer remembered in `exportsDir` under `name` (so that a rebuild from cache compresses
 * nothing again), else made by `make` and remembered.
 */
async function rememberedLayer(
  opts: ExportLayersOptions,
  name: string,
  make: () => Promise<ExportLayer>,
): Promise<ExportLayer> {
  const memoPath = opts.exportsDir ? join(opts.exportsDir, `${name}.json`) : undefined;
  if (memoPath) {
    try {
      const known = JSON.parse(await readFile(memoPath, 'utf8')) as ExportLayer;
      if (await opts.content.has(known.blob.digest)) return known;
    } catch {
      // not remembered (or unreadable): export it again
    }
  }
  const layer = await make();
  if (memoPath && opts.exportsDir) {
    await mkdir(opts.exportsDir, { recursive: true });
    await writeFileDurably(memoPath, JSON.stringify(layer));
  }
  return layer;
}

/** The image config with its own cache record (the final step's key → the image's layer chain). */
function withInlineCache(
  cfg: ImageConfig,
  b: PlatformBuild,
  layers: readonly ExportLayer[],
  opts: AssembleOptions,
): ImageConfig {
  const chain = b.layers.map((l, i) => ({
    blob: layers[i]!.blob,
    diffID: layers[i]!.diffID,
    ...(l.producedBy ? { producedBy: l.producedBy } : {}),
    ...(l.created ? { created: l.created } : {}),
  }));
  const description = b.steps?.find((s) => s.key === b.key)?.description ?? '';
  return {
    ...cfg,
    [InlineCacheField]: cacheConfig([{ key: b.key!, description, layers: chain }], opts.sourceDateEpoch),
  } as ImageConfig;
}

/** The platform's attestations as a manifest in the store (BuildKit's layout), when it has any. */
async function attachAttestations(
  b: PlatformBuild,
  layers: readonly ExportLayer[],
  manifest: Descriptor,
  opts: AssembleOptions,
): Promise<Descriptor | undefined> {
  const atts = (await opts.attestations?.of(b, layers)) ?? [];
  if (!atts.length) return undefined;
  const subject = subjectsFor(opts.attestations!.names, b.platform, manifest);
  const desc = await writeAttestationManifest({
    content: opts.content,
    target: manifest,
    statements: atts.map((a) => statementOf(a, subject)),
    oci: opts.oci,
    artifact: (opts.attestationArtifacts || opts.attestationReferrers) ?? false,
  });
  opts.progress?.status(`exporting attestation manifest ${desc.digest}`).done();
  return desc;
}

/** History entries aligned with the layers: a step whose layer is absent is an empty layer. */
function alignHistory(build: PlatformBuild, created: string): History[] {
  const produced = new Set(build.layers.map((l) => l.producedBy).filter((k): k is Digest => k !== undefined));
  const out: History[] = [];
  for (const h of build.history) {
    if (!h.step) {
      out.push(
        h.entry.created || h.entry.comment !== 'buildkit.dockerfile.v0' ? h.entry : { created, ...h.entry },
      );
      continue;
    }
    const key = build.stepKeys.get(h);
    const withLayer = key !== undefined && produced.has(key);
    const { empty_layer: _e, ...rest } = h.entry;
    out.push({ created, ...rest, ...(withLayer ? {} : { empty_layer: true }) });
  }
  // a base image whose history undercounts its layers: pad at the front, as BuildKit does
  const nonEmpty = out.filter((h) => !h.empty_layer).length;
  for (let i = nonEmpty; i < build.layers.length; i++) out.unshift({ created, created_by: '' });
  return out;
}

/** When the image was made: SOURCE_DATE_EPOCH, else when its newest built layer was made. */
function imageCreated(build: PlatformBuild, sourceDateEpoch: number | undefined): string {
  if (sourceDateEpoch !== undefined) return epochToRFC3339(sourceDateEpoch);
  const times = build.layers.map((l) => l.created).filter((c): c is string => c !== undefined);
  if (times.length)
    return times
      .sort()
      .at(-1)!
      .replace(/\.\d+Z$/, 'Z');
  return build.baseCreated ?? epochToRFC3339(0);
}

export async function assembleImages(
  builds: readonly PlatformBuild[],
  opts: AssembleOptions,
): Promise<Assembled> {
  const memo = opts.layerMemo ?? new Map<string, Promise<ExportLayer>>();
  const layersStatus = opts.progress?.status('exporting layers');
  const exported = await Promise.all(builds.map((b) => exportLayers(opts, b.layers, memo)));
  layersStatus?.done();
  const images: AssembledImage[] = [];
  for (const [i, b] of builds.entries()) {
    const layers = exported[i]!;
    const created = imageCreated(b, opts.sourceDateEpoch);
    const history = alignHistory(b, created);
    const made = imageConfig({
      platform: b.platform,
      config: b.config,
      history,
      layers,
      created,
      ...(b.author ? { author: b.author } : {}),
    });
    const cfg = b.configFields ? ({ ...made, ...b.configFields } as ImageConfig) : made;
    const cfgBytes = goJSONBytes(opts.inlineCache && b.key ? withInlineCache(cfg, b, layers, opts) : cfg);
    const configDesc = await opts.content.putBlob(cfgBytes, {
      mediaType: opts.oci ? MediaTypeImageConfig : MediaTypeDockerConfig,
    });
    const own = opts.platformAnnotations?.(b.platform);
    const manifestAnnotations = { ...opts.manifestAnnotations, ...own?.manifest };
    const manifest = imageManifest(
      configDesc,
      layers.map((l) => l.blob),
      { oci: opts.oci, annotations: manifestAnnotations },
    );
    const stored = await opts.content.putBlob(goJSONBytes(manifest), { mediaType: manifest.mediaType! });
    const manifestDesc: Descriptor = {
      mediaType: stored.mediaType,
      digest: stored.digest,
      size: stored.size,
      ...(own && Object.keys(own.descriptor).length ? { annotations: own.descriptor } : {}),
    };
    const ms = opts.progress?.status(`exporting manifest ${manifestDesc.digest}`);
    ms?.done();
    const cs = opts.progress?.status(`exporting config ${configDesc.digest}`);
    cs?.done();
    const attestation = await attachAttestations(b, layers, manifestDesc, opts);
    images.push({
      platform: b.platform,
      manifest: manifestDesc,
      config: configDesc,
      layers,
      ...(attestation ? { attestation } : {}),
    });
  }
  const referrers = opts.attestationReferrers ? referrersOf(images) : undefined;
  const attested = opts.attestationReferrers ? [] : images.filter((im) => im.attestation);
  if (images.length === 1 && !opts.forceIndex && !attested.length) {
    return { top: images[0]!.manifest, images, ...(referrers ? { referrers } : {}) };
  }
  const index = imageIndex(
    [
      ...images.map((im) => ({ descriptor: im.manifest, platform: im.platform })),
      ...attested.map((im) => ({ descriptor: im.attestation!, platform: AttestationPlatform })),
    ],
    { oci: opts.oci, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
  );
  const indexDesc = await opts.content.putBlob(goJSONBytes(index), { mediaType: index.mediaType! });
  opts.progress?.status(`exporting manifest list ${indexDesc.digest}`).done();
  return { top: indexDesc, images, ...(referrers ? { referrers } : {}) };
}

/** The attestation manifests as referrers of their images (the referrers index's entries). */
function referrersOf(images: readonly AssembledImage[]): NonNullable<Assembled['referrers']> {
  return images
    .filter((im) => im.attestation)
    .map((im) => ({
      subject: im.manifest,
      manifest: {
        mediaType: im.attestation!.mediaType,
        digest: im.attestation!.digest,
        size: im.attestation!.size,
        artifactType: AttestationManifestArtifactType,
      },
    }));
}
