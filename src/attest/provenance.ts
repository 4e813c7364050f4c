/**
 * attest/provenance — a platform's SLSA provenance as BuildKit writes it: the v0.2 predicate
 * (`https://mobyproject.org/buildkit@v1` build type), or v1 converted from it the way
 * BuildKit's ConvertToSLSA1 does. Made from the graph's capture (attest/capture) and what the
 * build was asked (its frontend arguments, the Dockerfile's name, when it ran).
 *
 * `mode=min` keeps the builder, build type, materials, the local sources and the arguments
 * that are not build args or labels; `mode=max` adds those, the secrets and SSH ids (never
 * their values), the steps (`buildConfig`), their Dockerfile locations and their layers.
 * Pure.
 */
import type { Descriptor } from '../oci/types.js';
import type { Capture } from './capture.js';
import { refToPURL } from './purl.js';
import { type Attestation, PredicateSLSAv1, PredicateSLSAv02, type ProvenanceRequest } from './types.js';

export const BuildTypeV02 = 'https://mobyproject.org/buildkit@v1';
export const BuildTypeV1 =
  'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md';

/** What the whole build contributes, the same for every platform. */
export interface Invocation {
  /** BuildKit's frontend attributes as buildx sends them: `build-arg:X`, `label:X`, `target`, … */
  args: Record<string, string>;
  /** the Dockerfile's name (`filename`): the config source's entry point */
  filename: string;
  /** local sources the frontend read besides the graph's (`dockerfile`) */
  locals?: readonly string[];
  /** the Dockerfile's bytes, for `mode=max`'s source infos */
  dockerfile?: Buffer;
  /** the platform the build ran on (`linux/amd64`) */
  builderPlatform: string;
  /** one id for every platform of the build */
  invocationID: string;
  startedOn: Date;
  finishedOn: Date;
}

/** The layers of each step whose result is in the image (`stepN:0` → the layer chain). */
export type StepLayers = Record<string, Descriptor[][]>;

export interface ProvenanceInput {
  request: ProvenanceRequest;
  capture: Capture;
  invocation: Invocation;
  layers?: StepLayers;
}

/** The provenance attestation of one platform's image. */
export function makeProvenance(input: ProvenanceInput): Attestation {
  const v02 = predicateV02(input);
  const path = input.request.filename ?? 'provenance.json';
  const only = input.request.inlineOnly ? { inlineOnly: true } : {};
  if (input.request.version === 'v1')
    return { predicateType: PredicateSLSAv1, predicate: toV1(v02), path, ...only };
  return { predicateType: PredicateSLSAv02, predicate: v02, path, ...only };
}

interface PredicateV02 {
  builder: { id: string };
  buildType: string;
  materials?: { uri: string; digest?: Record<string, string> }[];
  invocation: {
    configSource: { entryPoint?: string };
    parameters: Parameters;
    environment: { platform: string };
  };
  buildConfig?: { llbDefinition: unknown[]; digestMapping?: Record<string, string> };
  metadata: MetadataV02;
}

interface Parameters {
  frontend: string;
  args?: Record<string, string>;
  secrets?: { id: string; optional?: boolean }[];
  ssh?: { id: string; optional?: boolean }[];
  locals?: { name: string }[];
}

interface MetadataV02 {
  buildInvocationID: string;
  buildStartedOn: string;
  buildFinishedOn: string;
  completeness: { parameters: boolean; environment: boolean; materials: boolean };
  reproducible: boolean;
  'https://mobyproject.org/buildkit@v1#metadata'?: BuildKitMetadata;
  'https://mobyproject.org/buildkit@v1#hermetic'?: boolean;
}

interface BuildKitMetadata {
  source?: { locations: Record<string, unknown>; infos: unknown[] };
  layers?: StepLayers;
}

/** Go's time.Time in JSON (RFC 3339 with the nanoseconds it has). */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

function predicateV02(input: ProvenanceInput): PredicateV02 {
  const { capture: c, invocation: inv, request } = input;
  const max = request.mode === 'max';
  const args = sortedKeys(max ? inv.args : minArgs(inv.args));
  const locals = [...new Set([...c.locals, ...(inv.locals ?? [])])].sort();
  const incomplete = c.incompleteMaterials || locals.length > 0;
  const materials = c.images.map((m) => ({
    uri: refToPURL(m.ref, m.platform),
    ...(m.digest ? { digest: { [m.digest.split(':')[0]!]: m.digest.split(':')[1]! } } : {}),
  }));
  const parameters: Parameters = {
    frontend: 'dockerfile.v0',
    ...(Object.keys(args).length ? { args } : {}),
    ...(max && c.secrets.length ? { secrets: c.secrets.map(idOnly) } : {}),
    ...(max && c.ssh.length ? { ssh: c.ssh.map(idOnly) } : {}),
    ...(locals.length ? { locals: locals.map((name) => ({ name })) } : {}),
  };
  const hermetic = !incomplete && !c.networkAccess;
  const bkMeta = max ? buildKitMetadata(input) : undefined;
  return {
    builder: { id: request.builderId ?? '' },
    buildType: BuildTypeV02,
    ...(materials.length ? { materials } : {}),
    invocation: {
      configSource: { entryPoint: inv.filename },
      parameters,
      environment: { platform: inv.builderPlatform },
    },
    ...(max ? { buildConfig: buildConfig(c) } : {}),
    metadata: {
      buildInvocationID: inv.invocationID,
      buildStartedOn: goTime(inv.startedOn),
      buildFinishedOn: goTime(inv.finishedOn),
      completeness: {
        parameters: max || !Object.keys(inv.args).some(isUserArg),
        environment: true,
        materials: !incomplete,
      },
      reproducible: request.reproducible ?? false,
      ...(bkMeta ? { 'https://mobyproject.org/buildkit@v1#metadata': bkMeta } : {}),
      ...(hermetic ? { 'https://mobyproject.org/buildkit@v1#hermetic': true } : {}),
    },
  };
}

/** A map as Go's encoding/json writes it: keys in sorted order. */
function sortedKeys<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function isUserArg(k: string): boolean {
  return k.startsWith('build-arg:') || k.startsWith('label:');
}

/** `mode=min`: build args and labels may hold what the user did not mean to publish. */
function minArgs(args: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(args).filter(([k]) => !isUserArg(k)));
}

function idOnly(s: { id: string; optional: boolean }): { id: string; optional?: boolean } {
  return s.optional ? { id: s.id, optional: true } : { id: s.id };
}

function buildConfig(c: Capture): NonNullable<PredicateV02['buildConfig']> {
  const mapping = sortedKeys(Object.fromEntries(Object.entries(c.keys).map(([id, key]) => [key, id])));
  return {
    llbDefinition: c.steps,
    ...(Object.keys(mapping).length ? { digestMapping: mapping } : {}),
  };
}

function buildKitMetadata(input: ProvenanceInput): BuildKitMetadata | undefined {
  const { capture: c, invocation: inv } = input;
  const out: BuildKitMetadata = {};
  const locations = sortedKeys(
    Object.fromEntries(
      Object.entries(c.locations).map(([id, l]) => [
        id,
        { locations: [{ ranges: [{ start: { line: l.startLine }, end: { line: l.endLine } }] }] },
      ]),
    ),
  );
  if (Object.keys(locations).length && inv.dockerfile) {
    out.source = {
      locations,
      infos: [{ filename: inv.filename, language: 'Dockerfile', data: inv.dockerfile.toString('base64') }],
    };
  }
  if (input.layers && Object.keys(input.layers).length) out.layers = sortedKeys(input.layers);
  return out.source || out.layers ? out : undefined;
}

/** BuildKit's ConvertToSLSA1. */
function toV1(p: PredicateV02): unknown {
  const m = p.metadata;
  return {
    buildDefinition: {
      buildType: BuildTypeV1,
      externalParameters: {
        configSource: { path: p.invocation.configSource.entryPoint },
        request: p.invocation.parameters,
      },
      internalParameters: {
        ...(p.buildConfig ? { buildConfig: p.buildConfig } : {}),
        builderPlatform: p.invocation.environment.platform,
      },
      ...(p.materials ? { resolvedDependencies: p.materials } : {}),
    },
    runDetails: {
      builder: { id: p.builder.id },
      metadata: {
        invocationID: m.buildInvocationID,
        startedOn: m.buildStartedOn,
        finishedOn: m.buildFinishedOn,
        ...(m['https://mobyproject.org/buildkit@v1#metadata']
          ? { buildkit_metadata: m['https://mobyproject.org/buildkit@v1#metadata'] }
          : {}),
        ...(m['https://mobyproject.org/buildkit@v1#hermetic'] ? { buildkit_hermetic: true } : {}),
        buildkit_completeness: {
          request: m.completeness.parameters,
          resolvedDependencies: m.completeness.materials,
        },
        ...(m.reproducible ? { buildkit_reproducible: true } : {}),
      },
    },
  };
}
