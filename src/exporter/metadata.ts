/**
 * exporter/metadata — what buildx writes to `--metadata-file` and `--iidfile`, and prints for
 * `--quiet`, from the exporter response BuildKit gives it:
 *
 * ```json
 * {
 *   "buildx.build.ref": "default/default/<id>",
 *   "containerimage.config.digest": "sha256:…",      (one platform only)
 *   "containerimage.descriptor": { "mediaType": …, "digest": …, "size": …, "platform"?: … },
 *   "containerimage.digest": "sha256:…",
 *   "image.name": "docker.io/library/a:1,docker.io/library/a:latest"
 * }
 * ```
 *
 * The image ID (`--iidfile`, `--quiet`) is the config digest for one platform, else the index
 * digest (buildx's getImageID). Pure.
 */
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';

export interface ExportResponse {
  /** the image's top descriptor (index, or the one manifest) */
  descriptor?: Descriptor;
  /** one platform: its config */
  configDigest?: Digest;
  /** every name the image got (local store, registry, archives) */
  names: string[];
}

/** The metadata file's object, keys sorted as Go's encoding/json sorts a map. */
export function buildMetadata(res: ExportResponse, buildRef: string): Record<string, unknown> {
  const out: Record<string, unknown> = { 'buildx.build.ref': buildRef };
  if (res.descriptor) {
    if (res.configDigest) out['containerimage.config.digest'] = res.configDigest;
    const d = res.descriptor;
    out['containerimage.descriptor'] = {
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      ...(d.annotations && Object.keys(d.annotations).length ? { annotations: d.annotations } : {}),
      ...(d.platform ? { platform: d.platform } : {}),
    };
    out['containerimage.digest'] = d.digest;
  }
  if (res.names.length) out['image.name'] = res.names.join(',');
  return out;
}

/** The image ID buildx reports: the config digest when there is one, else the image digest. */
export function imageID(res: ExportResponse): string | undefined {
  return res.configDigest ?? res.descriptor?.digest;
}

/** `<builder>/<node>/<ref>` with a fresh 25-character ref, as buildx names a build. */
export function newBuildRef(builder: string, random: () => number = Math.random): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = '';
  for (let i = 0; i < 25; i++) id += alphabet[Math.floor(random() * alphabet.length)];
  return `${builder}/${builder === 'default' ? 'default' : `${builder}0`}/${id}`;
}
