/**
 * api/imagetools — buildx's `imagetools` as a library: `inspectImage` reads an image (index or
 * manifest) from its registry or the local store, with its image configs when asked;
 * `createImage` joins images or indexes into one index, copies what the sources hold into the
 * target repository and pushes it to every tag.
 *
 *     const { descriptor, manifests } = await inspectImage(ctx, { image: 'localhost:5000/app:1' });
 *     await createImage(ctx, { sources: ['localhost:5000/app:amd64', 'localhost:5000/app:arm64'],
 *                              tags: ['localhost:5000/app:1'] });
 */
import {
  AnnotationReferenceDigest,
  AnnotationReferenceType,
  AttestationManifestArtifactType,
  ReferenceTypeAttestation,
} from '../attest/layout.js';
import { type ReadAttestations, readAttestations } from '../attest/read.js';
import { findLocalImages, isAttestation, platformOfConfig } from '../content/index.js';
import { parseManifest } from '../content/walk.js';
import { parseAnnotation } from '../exporter/annotations.js';
import { type Digest, isDigest } from '../oci/digest.js';
import { isManifestType } from '../oci/mediatypes.js';
import type { Descriptor, ImageConfig } from '../oci/types.js';
import { formatPlatformRaw } from '../platforms/index.js';
import { formatReference, parseImageReference, type Reference } from '../reference/index.js';
import {
  type CombinedIndex,
  createIndex,
  type Inspection,
  inspectRemote,
  listReferrers,
  sourceWithRepository,
  type TransferEvent,
} from '../registry/index.js';
import { type PolyarchContext, withClient, withStore } from './context.js';

export type { ProvenanceStub, ReadAttestations, SBOMStub } from '../attest/read.js';
export { isAttestation } from '../content/index.js';
export type { CombinedIndex, Inspection } from '../registry/index.js';

export interface InspectImageRequest {
  /** a reference; with `local`, a local name or ID */
  image: string;
  /** read the image from the local store instead of its registry (no fallback) */
  local?: boolean;
  /** also read the image config of every platform (buildx's `{{json .Image}}`) */
  configs?: boolean;
  /** also read the attestations of every platform (buildx's `.Provenance` and `.SBOM`) */
  attestations?: boolean;
}

export interface ImageInspection extends Inspection {
  /** the reference read (a local image's name with `local`) */
  ref: Reference;
  /** with `configs`: each platform's image config, by platform as the index writes it */
  configs?: Record<string, ImageConfig>;
  /** with `attestations`: each platform's provenance and SBOM predicates */
  attestations?: ReadAttestations;
}

/** Reads an image's index or manifest (and with `configs`, its image configs). */
export async function inspectImage(ctx: PolyarchContext, req: InspectImageRequest): Promise<ImageInspection> {
  if (req.local) {
    return withStore(ctx, async (store) => {
      const local = (await findLocalImages(store, req.image))[0]!.record;
      const ref = parseImageReference(local.name);
      const raw = await store.readBlob(local.target.digest);
      const parsed = parseManifest(raw, local.target.mediaType, local.name);
      const ins: Inspection = {
        name: local.name,
        descriptor: {
          mediaType: local.target.mediaType,
          digest: local.target.digest,
          size: local.target.size,
        },
        raw,
        manifests: parsed.kind === 'index' ? parsed.index.manifests : undefined,
      };
      const read = (d: Descriptor) => store.readBlob(d.digest);
      const has = (d: Descriptor) => store.has(d.digest);
      return { ...ins, ref, ...(await details(req, ins, read, read, has)) };
    });
  }
  const ref = parseImageReference(req.image);
  return withClient(ctx, async (client) => {
    const ins = await inspectRemote(client, ref);
    const repo = client.repository(ref);
    return {
      ...ins,
      ref,
      ...(await details(
        req,
        ins,
        async (d) => (await repo.getManifest(d.digest, `inspecting ${ins.name}`)).bytes,
        (d) => repo.fetchBlob(d, `inspecting ${ins.name}: blob ${d.digest}`),
        undefined,
        (subject) => listReferrers(repo, subject),
      )),
    };
  });
}

/** What an inspection reads beyond the index: the configs and the attestations, when asked. */
async function details(
  req: InspectImageRequest,
  ins: Inspection,
  readManifest: (d: Descriptor) => Promise<Buffer>,
  readBlob: (d: Descriptor) => Promise<Buffer>,
  has?: (d: Descriptor) => Promise<boolean>,
  referrers?: (subject: Digest) => Promise<Descriptor[]>,
): Promise<Pick<ImageInspection, 'configs' | 'attestations'>> {
  return {
    ...(req.configs ? { configs: await imageConfigs(ins, readManifest, readBlob) } : {}),
    ...(req.attestations
      ? {
          attestations: await readAttestations(await withReferrers(ins, referrers), {
            manifest: readManifest,
            blob: readBlob,
            ...(has ? { has } : {}),
          }),
        }
      : {}),
  };
}

/**
 * The index's entries, and for each image without an attestation entry, the attestation
 * manifests that refer to it (OCI 1.1 referrers), as if the index listed them.
 */
async function withReferrers(
  ins: Inspection,
  referrers: ((subject: Digest) => Promise<Descriptor[]>) | undefined,
): Promise<Descriptor[]> {
  const entries = ins.manifests ?? [{ ...ins.descriptor }];
  if (!referrers) return entries;
  const attested = new Set(
    entries.filter(isAttestation).map((a) => a.annotations?.[AnnotationReferenceDigest]),
  );
  const out = [...entries];
  for (const image of entries.filter((m) => !isAttestation(m) && !attested.has(m.digest))) {
    for (const r of await referrers(image.digest as Digest)) {
      if (r.artifactType !== AttestationManifestArtifactType) continue;
      out.push({
        ...r,
        annotations: {
          ...r.annotations,
          [AnnotationReferenceDigest]: image.digest,
          [AnnotationReferenceType]: ReferenceTypeAttestation,
        },
      });
    }
  }
  return out;
}

/** The image config of every image manifest (attestations left out), by platform. */
async function imageConfigs(
  ins: Inspection,
  readManifest: (d: Descriptor) => Promise<Buffer>,
  readBlob: (d: Descriptor) => Promise<Buffer>,
): Promise<Record<string, ImageConfig>> {
  const entries = ins.manifests
    ? ins.manifests.filter((m) => !isAttestation(m) && isManifestType(m.mediaType))
    : [ins.descriptor];
  const out: Record<string, ImageConfig> = {};
  for (const d of entries) {
    const parsed = parseManifest(await readManifest(d), d.mediaType, `${ins.name}@${d.digest}`);
    if (parsed.kind !== 'manifest') continue;
    const config = JSON.parse((await readBlob(parsed.manifest.config)).toString('utf8')) as ImageConfig;
    out[formatPlatformRaw(d.platform ?? platformOfConfig(config))] = config;
  }
  return out;
}

export interface CreateImageRequest {
  /** images or indexes to join, in order; a bare digest when all references name one repository */
  sources: readonly string[];
  /** where to push the index (at least one unless `dryRun`) */
  tags: readonly string[];
  /** add the manifests of the index already at the first tag */
  append?: boolean;
  /** `[type[,type…]][[platform]]:key=value`, as `--annotation` (default type: index) */
  annotations?: readonly string[];
  /** build the index, push nothing */
  dryRun?: boolean;
  /** `start` once the arguments are read (nothing sent yet), then the registry's transfer events */
  onEvent?: (e: CreateImageEvent) => void;
}

export type CreateImageEvent = { type: 'start'; tags: string[] } | TransferEvent;

/** Joins the sources into one index and pushes it to every tag (none with `dryRun`); answers it. */
export async function createImage(ctx: PolyarchContext, req: CreateImageRequest): Promise<CombinedIndex> {
  const tags = req.tags.map((t) => parseImageReference(t));
  const annotations = (req.annotations ?? []).map((a) => parseAnnotation(a));
  const named = req.sources.filter((s) => !isDigest(s)).map((s) => parseImageReference(s));
  const sources = req.sources.map((s) =>
    isDigest(s) ? sourceWithRepository(s, s as Digest, [...tags, ...named]) : parseImageReference(s),
  );
  return withClient(ctx, async (client) => {
    req.onEvent?.({ type: 'start', tags: tags.map(formatReference) });
    return createIndex({
      client,
      sources,
      tags,
      append: req.append ?? false,
      annotations,
      dryRun: req.dryRun ?? false,
      ...(req.onEvent ? { onEvent: req.onEvent } : {}),
    });
  });
}
