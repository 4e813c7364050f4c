/**
 * registry/referrers — OCI 1.1 referrers (manifests with a `subject`) as distribution-spec 1.1
 * keeps them: through the referrers API when the registry has it (it indexes a pushed
 * manifest's `subject` itself), else through the tag schema fallback, an image index under the
 * tag `<alg>-<hex>` of the subject's digest that lists them, updated by its writers.
 */
import { parseManifest } from '../content/walk.js';
import { NotFoundError, PolyarchError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { MediaTypeImageIndex } from '../oci/mediatypes.js';
import type { Descriptor, ImageIndex } from '../oci/types.js';
import type { Repository } from './repository.js';

/** The fallback tag of a subject: `sha256-<hex>`. */
export function referrersTag(subject: Digest): string {
  return subject.replace(':', '-');
}

/** The manifests that refer to `subject`: from the API, else from the fallback tag (none when absent). */
export async function listReferrers(repo: Repository, subject: Digest): Promise<Descriptor[]> {
  return (await repo.getReferrers(subject)) ?? (await fallbackIndex(repo, subject)).manifests;
}

async function fallbackIndex(repo: Repository, subject: Digest): Promise<ImageIndex> {
  try {
    const tag = referrersTag(subject);
    const m = await repo.getManifest(tag);
    const what = `reading the referrers of ${subject} from the tag ${tag}`;
    const parsed = parseManifest(m.bytes, m.descriptor.mediaType, what);
    if (parsed.kind !== 'index')
      throw new PolyarchError('UNSUPPORTED', `${what}: it is a manifest, not an index`);
    return parsed.index;
  } catch (err) {
    if (err instanceof NotFoundError)
      return { schemaVersion: 2, mediaType: MediaTypeImageIndex, manifests: [] };
    throw err;
  }
}

/**
 * Records `referrers` (pushed already, by digest) as referring to `subject`. With the API the
 * registry did it when they were pushed; without, the fallback index gains those it lacks.
 * Answers which way the registry keeps them.
 */
export async function addReferrers(
  repo: Repository,
  subject: Digest,
  referrers: readonly Descriptor[],
): Promise<'api' | 'tag'> {
  if ((await repo.getReferrers(subject)) !== undefined) return 'api';
  const index = await fallbackIndex(repo, subject);
  const known = new Set(index.manifests.map((m) => m.digest));
  const added = referrers.filter((r) => !known.has(r.digest));
  if (!added.length) return 'tag';
  const next: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaTypeImageIndex,
    manifests: [...index.manifests, ...added],
  };
  const tag = referrersTag(subject);
  await repo.putManifest(
    tag,
    Buffer.from(JSON.stringify(next)),
    MediaTypeImageIndex,
    `updating the referrers of ${repo.name}@${subject} (tag ${tag})`,
  );
  return 'tag';
}
