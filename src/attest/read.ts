/**
 * attest/read — an index's attestations read back the way buildx's imagetools loader does:
 * for each platform, the first SLSA provenance predicate (`.Provenance` → `{SLSA}`) and the
 * SPDX predicates (`.SBOM` → `{SPDX, AdditionalSPDXs}`), found through the attestation
 * manifests' `vnd.docker.reference.digest` and their layers' predicate-type annotations.
 */
import { isAttestation, parseManifest } from '../content/walk.js';
import { PolyarchError } from '../errors.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import { formatPlatform } from '../platforms/index.js';
import { AnnotationPredicateType, AnnotationReferenceDigest, MediaTypeInToto } from './layout.js';
import { PredicateSPDX } from './types.js';

export interface ProvenanceStub {
  SLSA?: unknown;
}

export interface SBOMStub {
  SPDX?: unknown;
  AdditionalSPDXs?: unknown[];
}

/** By platform (`linux/arm64`), as buildx keys them. */
export interface ReadAttestations {
  provenance: Record<string, ProvenanceStub>;
  sbom: Record<string, SBOMStub>;
}

export interface AttestationReader {
  manifest(d: Descriptor): Promise<Buffer>;
  blob(d: Descriptor): Promise<Buffer>;
  /** whether the attestation manifest is there to read (a store holding only some platforms) */
  has?(d: Descriptor): Promise<boolean>;
}

/** Reads the attestations listed in an index's `manifests`. */
export async function readAttestations(
  manifests: readonly Descriptor[],
  read: AttestationReader,
): Promise<ReadAttestations> {
  const out: ReadAttestations = { provenance: {}, sbom: {} };
  for (const att of manifests.filter(isAttestation)) {
    const target = manifests.find((m) => m.digest === att.annotations?.[AnnotationReferenceDigest]);
    if (!target || (read.has && !(await read.has(att)))) continue;
    // a lone manifest (no index) has no platform here: its one entry is what buildx prints
    const key = target.platform ? formatPlatform(target.platform) : 'unknown';
    const m = manifestOf(await read.manifest(att), att);
    for (const layer of m.layers) {
      const type = layer.annotations?.[AnnotationPredicateType] ?? '';
      if (layer.mediaType !== MediaTypeInToto) continue;
      if (type.startsWith('https://slsa.dev/provenance/') && !out.provenance[key]) {
        out.provenance[key] = { SLSA: await predicateOf(read, layer) };
      } else if (type === PredicateSPDX) {
        const predicate = await predicateOf(read, layer);
        const s = out.sbom[key];
        if (!s) out.sbom[key] = { SPDX: predicate };
        else s.AdditionalSPDXs = [...(s.AdditionalSPDXs ?? []), predicate];
      }
    }
  }
  return out;
}

function manifestOf(bytes: Buffer, att: Descriptor): ImageManifest {
  const what = `reading the attestation manifest ${att.digest}`;
  const parsed = parseManifest(bytes, att.mediaType, what);
  if (parsed.kind !== 'manifest')
    throw new PolyarchError('UNSUPPORTED', `${what}: it is an index, not a manifest`);
  return parsed.manifest;
}

async function predicateOf(read: AttestationReader, layer: Descriptor): Promise<unknown> {
  const bytes = await read.blob(layer);
  try {
    return (JSON.parse(bytes.toString('utf8')) as { predicate?: unknown }).predicate;
  } catch (err) {
    throw new PolyarchError(
      'UNSUPPORTED',
      `reading the in-toto statement ${layer.digest}: it is not valid JSON`,
      {
        cause: err,
      },
    );
  }
}
