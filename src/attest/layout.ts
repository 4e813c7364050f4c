/**
 * attest/layout — attestations laid out as BuildKit stores them next to an image: each
 * platform's statements (in-toto, subject = the platform's manifest under every image name)
 * become the layers of one attestation manifest, listed in the index with the `unknown/unknown`
 * platform and the `vnd.docker.reference.type`/`.digest` annotations. Its config is an image
 * config of platform unknown/unknown (what docker and older registries expect), or with
 * `oci-artifact=true` the OCI empty JSON, with `artifactType` and a `subject` pointing at the
 * image manifest (the OCI 1.1 referrers form).
 */
import type { ContentStore } from '../content/interfaces.js';
import { digestOf } from '../oci/digest.js';
import { goJSONBytes } from '../oci/json.js';
import {
  MediaTypeDockerConfig,
  MediaTypeDockerManifest,
  MediaTypeEmptyJSON,
  MediaTypeImageConfig,
  MediaTypeImageManifest,
} from '../oci/mediatypes.js';
import type { Descriptor, ImageManifest, Platform } from '../oci/types.js';
import { refToPURL } from './purl.js';
import { type Attestation, type InTotoStatement, InTotoStatementType, type InTotoSubject } from './types.js';

export const MediaTypeInToto = 'application/vnd.in-toto+json';
export const AttestationManifestArtifactType = 'application/vnd.docker.attestation.manifest.v1+json';
export const AnnotationReferenceType = 'vnd.docker.reference.type';
export const AnnotationReferenceDigest = 'vnd.docker.reference.digest';
export const ReferenceTypeAttestation = 'attestation-manifest';
export const AnnotationPredicateType = 'in-toto.io/predicate-type';
export const AttestationPlatform: Platform = { architecture: 'unknown', os: 'unknown' };

/** The subjects BuildKit gives a platform's statements: one per image name (none without names). */
export function subjectsFor(
  names: readonly string[],
  platform: Platform,
  manifest: Descriptor,
): InTotoSubject[] {
  const [algo, hex] = manifest.digest.split(':') as [string, string];
  return names.map((n) => ({ name: refToPURL(n, platform), digest: { [algo]: hex } }));
}

/** A statement about the image: in-toto v0.1, as BuildKit v0.24 writes it. */
export function statementOf(a: Attestation, subject: InTotoSubject[]): InTotoStatement {
  return { _type: InTotoStatementType, predicateType: a.predicateType, subject, predicate: a.predicate };
}

export interface AttestationManifestOptions {
  content: ContentStore;
  /** the platform's image manifest the statements are about */
  target: Descriptor;
  statements: readonly InTotoStatement[];
  /** OCI media types (Docker schema 2 for `oci-mediatypes=false`) */
  oci: boolean;
  /** `oci-artifact=true`: the OCI 1.1 artifact form, with `subject` */
  artifact: boolean;
}

/** Writes the statements and their manifest into the store; answers the index entry for it. */
export async function writeAttestationManifest(o: AttestationManifestOptions): Promise<Descriptor> {
  const layers: Descriptor[] = [];
  for (const s of o.statements) {
    const blob = await o.content.putBlob(goJSONBytes(s), { mediaType: MediaTypeInToto });
    layers.push({
      mediaType: MediaTypeInToto,
      digest: blob.digest,
      size: blob.size,
      annotations: { [AnnotationPredicateType]: s.predicateType },
    });
  }
  const config = o.artifact
    ? await emptyConfig(o.content)
    : await unknownImageConfig(o.content, layers, o.oci);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: o.oci ? MediaTypeImageManifest : MediaTypeDockerManifest,
    ...(o.artifact ? { artifactType: AttestationManifestArtifactType } : {}),
    config,
    layers,
    ...(o.artifact
      ? { subject: { mediaType: o.target.mediaType, digest: o.target.digest, size: o.target.size } }
      : {}),
  };
  const stored = await o.content.putBlob(goJSONBytes(manifest), { mediaType: manifest.mediaType! });
  return {
    mediaType: stored.mediaType,
    digest: stored.digest,
    size: stored.size,
    annotations: {
      [AnnotationReferenceDigest]: o.target.digest,
      [AnnotationReferenceType]: ReferenceTypeAttestation,
    },
  };
}

/** The OCI empty JSON descriptor (`{}`), stored. */
async function emptyConfig(content: ContentStore): Promise<Descriptor> {
  const data = Buffer.from('{}');
  await content.putBlob(data, { mediaType: MediaTypeEmptyJSON });
  return { mediaType: MediaTypeEmptyJSON, digest: digestOf(data), size: 2, data: data.toString('base64') };
}

/** BuildKit's attestationsConfig: an image config of platform unknown/unknown over the statements. */
async function unknownImageConfig(
  content: ContentStore,
  layers: readonly Descriptor[],
  oci: boolean,
): Promise<Descriptor> {
  const cfg = {
    architecture: 'unknown',
    os: 'unknown',
    config: {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  };
  const mediaType = oci ? MediaTypeImageConfig : MediaTypeDockerConfig;
  const d = await content.putBlob(goJSONBytes(cfg), { mediaType });
  return { mediaType, digest: d.digest, size: d.size };
}
