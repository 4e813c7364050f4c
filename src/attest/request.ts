/**
 * attest/request — `--attest`, `--provenance` and `--sbom` (parsed by the CLI into
 * AttestSpec entries) → what the build makes, with BuildKit's defaults: provenance is SLSA
 * v0.2 in `mode=max` unless asked otherwise, the SBOM generator is the one buildx uses.
 * polyarch makes none unless asked (buildx adds `mode=min` provenance by default; polyarch
 * keeps its default output reproducible, so `BUILDX_NO_DEFAULT_ATTESTATIONS` changes nothing).
 * Pure.
 */
import type { AttestSpec } from '../build/options.js';
import { InvalidArgumentError } from '../errors.js';
import { parseGoBool } from '../goparse.js';
import {
  type AttestRequest,
  DefaultSBOMGenerator,
  type ProvenanceRequest,
  type SBOMRequest,
} from './types.js';

/** The attestations asked for; throws naming the attribute that is wrong. */
export function resolveAttests(specs: readonly AttestSpec[]): AttestRequest {
  const out: AttestRequest = {};
  for (const s of specs) {
    if (s.disabled) continue;
    if (s.type === 'provenance') out.provenance = provenanceRequest(s.attrs);
    else if (s.type === 'sbom') out.sbom = sbomRequest(s.attrs);
    else
      throw new InvalidArgumentError(
        `--attest: unknown attestation type "${s.type}" (expected provenance or sbom)`,
      );
  }
  return out;
}

function bool(attrs: Record<string, string>, key: string, what: string): boolean | undefined {
  const v = attrs[key];
  if (v === undefined) return undefined;
  const b = parseGoBool(v);
  if (b === undefined) throw new InvalidArgumentError(`${what}: non-bool value specified for ${key}: "${v}"`);
  return b;
}

function provenanceRequest(attrs: Record<string, string>): ProvenanceRequest {
  const what = '--attest type=provenance';
  const mode = attrs.mode ?? 'max';
  if (mode !== 'min' && mode !== 'max' && mode !== 'full') {
    throw new InvalidArgumentError(`${what}: invalid mode "${mode}" (expected min or max)`);
  }
  const version = attrs.version ?? 'v0.2';
  if (version !== 'v0.2' && version !== 'v1') {
    throw new InvalidArgumentError(
      `${what}: invalid provenance SLSA version: ${version} (expected v0.2 or v1)`,
    );
  }
  const reproducible = bool(attrs, 'reproducible', what);
  const inlineOnly = bool(attrs, 'inline-only', what);
  return {
    mode: mode === 'min' ? 'min' : 'max',
    version,
    ...(attrs['builder-id'] ? { builderId: attrs['builder-id'] } : {}),
    ...(reproducible !== undefined ? { reproducible } : {}),
    ...(inlineOnly !== undefined ? { inlineOnly } : {}),
    ...(attrs.filename ? { filename: attrs.filename } : {}),
  };
}

/** The scanner and its parameters (keys as given, as BuildKit passes them). */
function sbomRequest(attrs: Record<string, string>): SBOMRequest {
  const { generator, ...rest } = attrs;
  return { generator: generator || DefaultSBOMGenerator, params: { ...rest } };
}
