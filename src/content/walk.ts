/**
 * content/walk — what an index or manifest references, from its bytes. Pure: used by garbage
 * collection, the store check, image listing, push and copy.
 */
import { PolyarchError } from '../errors.js';
import {
  isIndexType,
  isManifestType,
  MediaTypeDockerManifestV1,
  MediaTypeDockerManifestV1Signed,
  MediaTypeImageIndex,
  MediaTypeImageManifest,
} from '../oci/mediatypes.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/types.js';

/** A manifest or index as parsed JSON, with the media type it was found to be. */
export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/** True for the media types of Docker's schema 1, which polyarch refuses. */
export function isSchema1(mediaType: string | undefined): boolean {
  return mediaType === MediaTypeDockerManifestV1 || mediaType === MediaTypeDockerManifestV1Signed;
}

/** The error for a schema 1 manifest, naming what it is and what to do. */
export function schema1Error(what: string): PolyarchError {
  return new PolyarchError(
    'UNSUPPORTED',
    `${what} is a Docker schema 1 manifest, which polyarch does not support (deprecated since 2017); ` +
      'push the image again with a current client, or convert it with `skopeo copy --format v2s2`',
  );
}

/**
 * Parses manifest or index bytes. `mediaType` is the one announced (Content-Type or the
 * parent's descriptor); when absent or generic, the JSON decides, as buildx's detectMediaType.
 */
export function parseManifest(
  bytes: Uint8Array,
  mediaType: string | undefined,
  what: string,
): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new PolyarchError('UNSUPPORTED', `${what}: the manifest is not valid JSON`, { cause: err });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new PolyarchError('UNSUPPORTED', `${what}: the manifest is not a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  const declared = typeof obj['mediaType'] === 'string' ? (obj['mediaType'] as string) : undefined;
  let mt = declared ?? (isIndexType(mediaType) || isManifestType(mediaType) ? mediaType : undefined);
  if (isSchema1(mediaType) || isSchema1(declared) || obj['schemaVersion'] === 1 || 'fsLayers' in obj) {
    throw schema1Error(what);
  }
  if (mt === undefined) {
    if (Array.isArray(obj['manifests'])) mt = MediaTypeImageIndex;
    else if (obj['config'] !== undefined) mt = MediaTypeImageManifest;
  }
  if (isIndexType(mt)) {
    if (!Array.isArray(obj['manifests']))
      throw new PolyarchError('UNSUPPORTED', `${what}: index without manifests`);
    return { kind: 'index', mediaType: mt!, index: obj as unknown as ImageIndex };
  }
  if (isManifestType(mt)) {
    const config = obj['config'] as Descriptor | undefined;
    if (!config || typeof config.digest !== 'string') {
      throw new PolyarchError('UNSUPPORTED', `${what}: manifest without a config descriptor`);
    }
    if (obj['layers'] !== undefined && !Array.isArray(obj['layers'])) {
      throw new PolyarchError('UNSUPPORTED', `${what}: manifest layers is not a list`);
    }
    const manifest = { ...(obj as unknown as ImageManifest), layers: (obj['layers'] as Descriptor[]) ?? [] };
    return { kind: 'manifest', mediaType: mt!, manifest };
  }
  throw new PolyarchError(
    'UNSUPPORTED',
    `${what}: unsupported manifest media type "${mt ?? mediaType ?? 'unknown'}" (expected an OCI or Docker schema 2 image)`,
  );
}

/** The descriptors an index or manifest references (manifests; or config and layers). */
export function childrenOf(parsed: ParsedManifest): Descriptor[] {
  return parsed.kind === 'index'
    ? parsed.index.manifests
    : [parsed.manifest.config, ...parsed.manifest.layers];
}

/** True when a descriptor's content is a manifest or index (something to walk into). */
export function isWalkable(desc: Descriptor): boolean {
  return isIndexType(desc.mediaType) || isManifestType(desc.mediaType);
}

/** True for buildx's attestation manifests in an index (`unknown/unknown`, `vnd.docker.reference.type`). */
export function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] !== undefined || d.platform?.os === 'unknown';
}
