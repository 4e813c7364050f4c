/**
 * build/attest — a build's attestations as the exporter attaches them: for each platform, its
 * SBOM statements (from the node's scan) and its provenance (attest/provenance), made from the
 * platform's graph capture and what the build was asked. BuildKit's frontend attributes are
 * rebuilt from the options the way buildx sends them, so the provenance reads as BuildKit's.
 */
import { randomBytes } from 'node:crypto';
import { makeProvenance, type StepLayers } from '../attest/provenance.js';
import { LayerFileFinder, supplementSBOM } from '../attest/supplement.js';
import type { Attestation, AttestRequest } from '../attest/types.js';
import type { Definition } from '../driver/types.js';
import type { AttestationSource, PlatformBuild } from '../exporter/assemble.js';
import type { ExportLayer } from '../exporter/image.js';
import { layerDescriptor } from '../exporter/image.js';
import { formatPlatform, type Platform } from '../platforms/index.js';
import { polyarchVersion } from '../version.js';
import type { BuildOptions } from './options.js';

export interface AttestInputs {
  request: AttestRequest;
  options: BuildOptions;
  definition: Definition;
  /** the platform the build runs on */
  builderPlatform: Platform;
  startedOn: Date;
  /** the image names the statements are about */
  names: readonly string[];
  /** a layer's directory, by its snapshot id (for the SBOM's layer ids) */
  layerDir?: (snapshot: string) => Promise<string>;
}

/** What the exporter attaches to each image; undefined when no attestation was asked for. */
export function attestationSource(i: AttestInputs): AttestationSource | undefined {
  const { provenance, sbom } = i.request;
  if (!provenance && !sbom) return undefined;
  const invocationID = newInvocationID();
  const args = frontendArgs(i.options);
  return {
    names: i.names,
    async of(build: PlatformBuild, layers: readonly ExportLayer[]): Promise<Attestation[]> {
      const out: Attestation[] = sbom ? await supplemented(build, layers, i.layerDir) : [];
      if (provenance && build.provenance) {
        out.push(
          makeProvenance({
            request: provenance,
            capture: build.provenance,
            invocation: {
              args,
              filename: i.definition.name,
              locals: ['dockerfile'],
              dockerfile: i.definition.source,
              builderPlatform: formatPlatform(i.builderPlatform),
              invocationID,
              startedOn: i.startedOn,
              finishedOn: new Date(),
            },
            ...(provenance.mode === 'max' ? { layers: stepLayers(build, layers) } : {}),
          }),
        );
      }
      return out;
    },
  };
}

/** The platform's SBOM statements, the core one with layer ids when the image's layers are known. */
async function supplemented(
  build: PlatformBuild,
  layers: readonly ExportLayer[],
  layerDir: AttestInputs['layerDir'],
): Promise<Attestation[]> {
  const statements = build.sbom ?? [];
  if (!layerDir || !layers.length || layers.length !== build.layers.length) return [...statements];
  const dirs = await Promise.all(
    build.layers.map(async (l, n) => ({ dir: await layerDir(l.snapshot), digest: layers[n]!.blob.digest })),
  );
  const finder = new LayerFileFinder(dirs);
  return Promise.all(statements.map((a) => supplementSBOM(a, finder, `polyarch-${polyarchVersion}`)));
}

/** BuildKit's identity.NewID: 25 characters of base 36 from 128 random bits. */
function newInvocationID(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`)
    .toString(36)
    .padStart(25, '0');
}

/** The frontend attributes buildx would have sent for these options (secrets are not among them). */
export function frontendArgs(o: BuildOptions): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.buildArgs)) args[`build-arg:${k}`] = v;
  for (const [k, v] of Object.entries(o.labels)) args[`label:${k}`] = v;
  if (o.target) args.target = o.target;
  if (o.noCache) args['no-cache'] = '';
  if (o.addHosts.length) args['add-hosts'] = o.addHosts.map((h) => `${h.host}=${h.ip}`).join(',');
  if (o.network !== 'default') args['force-network-mode'] = o.network;
  return args;
}

/**
 * `mode=max`'s layer mapping: each step whose result is a prefix of the image's layer chain
 * (`stepN:0`) → the descriptors of that chain, as exported.
 */
function stepLayers(build: PlatformBuild, layers: readonly ExportLayer[]): StepLayers {
  const out: StepLayers = {};
  const capture = build.provenance;
  if (!capture || !build.steps) return out;
  const chain = build.layers.map((l) => l.snapshot);
  for (const [id, key] of Object.entries(capture.keys)) {
    const step = build.steps.find((s) => s.key === key);
    if (!step?.layers.length || step.layers.length > Math.min(chain.length, layers.length)) continue;
    if (!step.layers.every((l, n) => l.snapshot === chain[n])) continue;
    out[`${id}:0`] = [step.layers.map((_, n) => layerDescriptor(layers[n]!.blob, true))];
  }
  return out;
}
