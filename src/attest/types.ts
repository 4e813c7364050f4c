/**
 * attest/types — the attestations a build attaches to its images (buildx's `--attest`,
 * `--provenance`, `--sbom`): what is asked for, and what a node hands back per platform.
 *
 * A node answers each platform's SBOM as in-toto statements without their subject (the image
 * they describe has no digest until it is exported); provenance is made at export from what
 * the build knows. The exporter fills in the subjects and lays the statements out as BuildKit
 * does (attest/layout).
 */

/** in-toto's statement type, as BuildKit writes it. */
export const InTotoStatementType = 'https://in-toto.io/Statement/v0.1';
export const PredicateSPDX = 'https://spdx.dev/Document';
export const PredicateSLSAv02 = 'https://slsa.dev/provenance/v0.2';
export const PredicateSLSAv1 = 'https://slsa.dev/provenance/v1';

/** The scanner buildx asks BuildKit to run when `--sbom=true` names no generator. */
export const DefaultSBOMGenerator = 'docker/buildkit-syft-scanner:stable-1';

export interface InTotoSubject {
  name: string;
  digest: Record<string, string>;
}

export interface InTotoStatement {
  _type: string;
  predicateType: string;
  subject: InTotoSubject[];
  predicate: unknown;
}

/** A statement before it has a subject: what a scanner wrote, or the provenance made for it. */
export interface Attestation {
  predicateType: string;
  predicate: unknown;
  /** the file the scanner wrote it to (`sbom.spdx.json`), its layer's `in-toto.io/predicate-type` path */
  path?: string;
  /** `inline-only=true`: only for outputs that hold attestations next to an image, not file trees */
  inlineOnly?: boolean;
}

/** `--sbom` / `--attest type=sbom,…`: the scanner image and what it also scans. */
export interface SBOMRequest {
  /** the scanner image (default: DefaultSBOMGenerator) */
  generator: string;
  /**
   * other `--attest type=sbom` attributes, passed to the scanner as BUILDKIT_SCAN_<key> (keys
   * as given). What else is scanned (the context, stages) the Dockerfile's
   * BUILDKIT_SBOM_SCAN_CONTEXT/_STAGE ARGs say, read by the conversion.
   */
  params: Record<string, string>;
}

/** `--provenance` / `--attest type=provenance,…`. */
export interface ProvenanceRequest {
  mode: 'min' | 'max';
  version: 'v0.2' | 'v1';
  /** `builder-id=`: the builder's id in the predicate */
  builderId?: string;
  /** `reproducible=true` */
  reproducible?: boolean;
  /** `inline-only=true`: only for outputs that can hold attestations inline */
  inlineOnly?: boolean;
  /** `filename=`: its file in `type=local`/`type=tar` outputs (default provenance.json) */
  filename?: string;
}

/** The attestations a build makes; absent members are not made. */
export interface AttestRequest {
  sbom?: SBOMRequest;
  provenance?: ProvenanceRequest;
}
