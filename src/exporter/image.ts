/**
 * exporter/image — image assembly, pure: a platform's config, history and layer chain → the
 * image config, its manifest, and the index that joins the platforms. OCI media types by
 * default, Docker schema 2 when `oci` is false (`oci-mediatypes=false`).
 *
 * History follows BuildKit: an entry per instruction, `empty_layer: true` where the step left
 * the filesystem unchanged, `comment: buildkit.dockerfile.v0`; new entries are dated by when
 * their layers were made (so a rebuild from cache reproduces the same digests), or clamped to
 * SOURCE_DATE_EPOCH.
 */
import type { Digest } from '../oci/digest.js';
import {
  MediaTypeDockerConfig,
  MediaTypeDockerLayer,
  MediaTypeDockerLayerGzip,
  MediaTypeDockerManifest,
  MediaTypeDockerManifestList,
  MediaTypeImageConfig,
  MediaTypeImageIndex,
  MediaTypeImageLayer,
  MediaTypeImageLayerGzip,
  MediaTypeImageManifest,
} from '../oci/mediatypes.js';
import type {
  ContainerConfig,
  Descriptor,
  History,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  Platform,
} from '../oci/types.js';
import { normalizePlatform } from '../platforms/index.js';

export interface ExportLayer {
  diffID: Digest;
  blob: Descriptor;
}

export interface ImageParts {
  platform: Platform;
  config: ContainerConfig;
  /** history aligned with `layers`: exactly one entry without empty_layer per layer */
  history: History[];
  layers: ExportLayer[];
  /** the image's `created` (RFC 3339); omitted when undefined */
  created?: string;
  author?: string;
}

/** The image config blob's JSON value. */
export function imageConfig(p: ImageParts): ImageConfig {
  const platform = normalizePlatform(p.platform);
  // field order of Go's ocispecs.Image, which BuildKit marshals
  const cfg: ImageConfig = {
    ...(p.created ? { created: p.created } : {}),
    ...(p.author ? { author: p.author } : {}),
    architecture: platform.architecture,
    os: platform.os,
    ...(platform['os.version'] ? { 'os.version': platform['os.version'] } : {}),
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: p.config,
    rootfs: { type: 'layers', diff_ids: p.layers.map((l) => l.diffID) },
    history: p.history,
  };
  return cfg;
}

/**
 * Layer descriptors with the media type family of the manifest (zstd has only the OCI one:
 * outputs turn OCI media types on for it).
 */
export function layerDescriptor(blob: Descriptor, oci: boolean): Descriptor {
  const gz = blob.mediaType === MediaTypeImageLayerGzip || blob.mediaType === MediaTypeDockerLayerGzip;
  if (gz) return { ...blob, mediaType: oci ? MediaTypeImageLayerGzip : MediaTypeDockerLayerGzip };
  const tar = blob.mediaType === MediaTypeImageLayer || blob.mediaType === MediaTypeDockerLayer;
  if (tar) return { ...blob, mediaType: oci ? MediaTypeImageLayer : MediaTypeDockerLayer };
  return blob;
}

export function imageManifest(
  config: Descriptor,
  layers: readonly Descriptor[],
  opts: { oci: boolean; annotations?: Record<string, string> },
): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: opts.oci ? MediaTypeImageManifest : MediaTypeDockerManifest,
    config: { ...config, mediaType: opts.oci ? MediaTypeImageConfig : MediaTypeDockerConfig },
    layers: layers.map((l) => layerDescriptor(l, opts.oci)),
    ...(opts.annotations && Object.keys(opts.annotations).length ? { annotations: opts.annotations } : {}),
  };
}

export function imageIndex(
  manifests: readonly { descriptor: Descriptor; platform: Platform }[],
  opts: { oci: boolean; annotations?: Record<string, string> },
): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: opts.oci ? MediaTypeImageIndex : MediaTypeDockerManifestList,
    manifests: manifests.map((m) => ({
      mediaType: m.descriptor.mediaType,
      digest: m.descriptor.digest,
      size: m.descriptor.size,
      ...(m.descriptor.annotations ? { annotations: m.descriptor.annotations } : {}),
      platform: platformField(m.platform),
    })),
    ...(opts.annotations && Object.keys(opts.annotations).length ? { annotations: opts.annotations } : {}),
  };
}

/** The `platform` of an index entry: architecture, os, then variant (as BuildKit orders them). */
export function platformField(p: Platform): Platform {
  const n = normalizePlatform(p);
  return {
    architecture: n.architecture,
    os: n.os,
    ...(n['os.version'] ? { 'os.version': n['os.version'] } : {}),
    ...(n.variant ? { variant: n.variant } : {}),
  };
}

/** Seconds since the epoch → RFC 3339 as Go prints a UTC time (`2000-01-01T00:00:00Z`). */
export function epochToRFC3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
