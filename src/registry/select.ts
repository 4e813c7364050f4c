/**
 * registry/select — which manifests of an index a pull or copy takes. Pure.
 *
 * One platform: the best match by containerd's ranking (`linux/arm/v7` also takes v6, v5).
 * Several: the best match for each. All: every manifest, attestations included. A platform
 * with no match is a NotFoundError that lists the platforms the index has.
 */
import { isAttestation } from '../content/walk.js';
import { NotFoundError } from '../errors.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';
import { formatPlatform, formatPlatformRaw, platformMatcher } from '../platforms/index.js';

/** What to take from an index: `all`, or the best match for each platform. */
export type PlatformSelection = 'all' | readonly Platform[];

/** The platforms of an index's runnable manifests, as written there (`linux/arm64/v8`). */
export function indexPlatforms(index: ImageIndex): string[] {
  return index.manifests
    .filter((m) => m.platform && !isAttestation(m))
    .map((m) => formatPlatformRaw(m.platform!));
}

/** The manifests to take, in index order, without duplicates. */
export function selectManifests(index: ImageIndex, selection: PlatformSelection, what: string): Descriptor[] {
  if (selection === 'all') return [...index.manifests];
  const candidates = index.manifests.filter((m) => m.platform && !isAttestation(m));
  const chosen = new Set<Descriptor>();
  for (const p of selection) {
    const best = platformMatcher(p).best(candidates, (m) => m.platform);
    if (!best) {
      const have = indexPlatforms(index);
      throw new NotFoundError(
        `${what}: no matching manifest for ${formatPlatform(p)} in the manifest list entries (available: ${have.length ? have.join(', ') : 'none'})`,
      );
    }
    chosen.add(best);
  }
  return index.manifests.filter((m) => chosen.has(m));
}
