/**
 * attest/sbom — an SBOM scan as steps of the build, the way BuildKit's frontend makes it
 * (frontend/attestations/sbom): the scanner image runs with the target's root filesystem
 * mounted read-only at `/run/src/core/sbom`, the extra targets (the build context, stages) at
 * `/run/src/extras/sbom-<name>`, a tmpfs on `/tmp`, and writes in-toto statements into
 * `/run/out`, which is the step's result. Being an exec op like any RUN, the scan shows in
 * progress (`[linux/arm64] generating sbom using <image>`) and is cached by its key.
 *
 *     const scanner = sbomScanner(request, resolved, buildPlatform);  // once, for the build platform
 *     const vertex = scanVertex(scanner, targetPlatform, graph.vertex, graph.sbom);
 *
 * Pure: the scanner image is resolved by the caller; reading what it wrote is attest/sbombundle.
 */
import { BuildError, messageOf, NotFoundError, type PolyarchError } from '../errors.js';
import type { ResolvedImage, SBOMTargets } from '../graph/convert.js';
import { imageVertex } from '../graph/dispatch/sources.js';
import type { ExecMount, Vertex } from '../graph/ops.js';
import { formatPlatform, normalizePlatform, type Platform } from '../platforms/index.js';
import { formatReference, parseImageReference } from '../reference/index.js';
import type { SBOMRequest } from './types.js';

/** Where the scanner finds the target's filesystem (BUILDKIT_SCAN_SOURCE). */
export const scanSource = '/run/src/core/sbom';
/** Where the extra targets are, one directory each (BUILDKIT_SCAN_SOURCE_EXTRAS). */
export const scanSourceExtras = '/run/src/extras';
/** Where the scanner writes its statements (BUILDKIT_SCAN_DESTINATION, with BuildKit's slash). */
export const scanDestination = '/run/out/';

/** A scanner image, resolved and ready to scan any target. */
export interface SBOMScanner {
  /** the generator as BuildKit names it (`docker.io/docker/buildkit-syft-scanner:stable-1`) */
  name: string;
  /** the scanner image's filesystem */
  image: Vertex;
  /** the image's entrypoint then cmd */
  args: string[];
  /** the image's env */
  env: string[];
  /** the image's working directory, `/` when it sets none */
  cwd: string;
  /** the platform it runs for: the build platform */
  platform: Platform;
  /** BUILDKIT_SCAN_<KEY> values */
  params: Readonly<Record<string, string>>;
}

/** The generator reference as BuildKit normalises it: full name, `:latest` when no tag. */
export function generatorName(generator: string): string {
  return formatReference(parseImageReference(generator));
}

/** The scanner from its resolved image; throws when the image has nothing to run. */
export function sbomScanner(request: SBOMRequest, resolved: ResolvedImage, platform: Platform): SBOMScanner {
  const name = generatorName(request.generator);
  const config = resolved.config.config ?? {};
  const args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (args.length === 0) throw new BuildError(`scanner ${name} does not have cmd`);
  const p = normalizePlatform(platform);
  return {
    name,
    image: imageVertex(resolved, p, `docker-image://${name}`),
    args,
    env: config.Env ?? [],
    cwd: config.WorkingDir || '/',
    platform: p,
    params: request.params,
  };
}

/** The scan of one target platform's result: an exec op whose result is `/run/out`. */
export function scanVertex(s: SBOMScanner, target: Platform, core: Vertex, extras: SBOMTargets): Vertex {
  const named = extraTargets(extras);
  const inputs: Vertex[] = [s.image, core, ...named.map(([, v]) => v)];
  const mounts: ExecMount[] = [
    { type: 'tmpfs', target: '/tmp' },
    { type: 'bind', target: scanSource, input: 1, source: '/', readonly: true },
    ...named.map(
      ([name], i): ExecMount => ({
        type: 'bind',
        target: `${scanSourceExtras}/sbom-${name}`,
        input: i + 2,
        source: '/',
        readonly: true,
      }),
    ),
  ];
  return {
    op: {
      type: 'exec',
      args: s.args,
      env: scanEnv(s, named.length > 0),
      cwd: s.cwd,
      user: '',
      network: 'default',
      security: 'sandbox',
      mounts,
      platform: s.platform,
      output: scanDestination.replace(/\/$/, ''),
    },
    inputs,
    name: `[${formatPlatform(target)}] generating sbom using ${s.name}`,
  };
}

/** The extra targets by name, sorted (the context is `context`, stages their names). */
function extraTargets(extras: SBOMTargets): [string, Vertex][] {
  const out: [string, Vertex][] = [...extras.stages];
  if (extras.context) out.push(['context', extras.context]);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The image's env, then the protocol's variables (a later one replaces an earlier of the same name). */
function scanEnv(s: SBOMScanner, hasExtras: boolean): string[] {
  const env = new Map<string, string>();
  const set = (kv: string) => {
    const i = kv.indexOf('=');
    env.delete(i < 0 ? kv : kv.slice(0, i));
    env.set(i < 0 ? kv : kv.slice(0, i), kv);
  };
  for (const e of s.env) set(e);
  set(`BUILDKIT_SCAN_DESTINATION=${scanDestination}`);
  set(`BUILDKIT_SCAN_SOURCE=${scanSource}`);
  if (hasExtras) set(`BUILDKIT_SCAN_SOURCE_EXTRAS=${scanSourceExtras}`);
  for (const k of Object.keys(s.params).sort()) set(`BUILDKIT_SCAN_${k}=${s.params[k]}`);
  return [...env.values()];
}

/**
 * A scan's failure as one message naming the generator and the platform:
 * `generating sbom using localhost:5000/scanner:latest for linux/arm64: exit code: 1`.
 */
export function scanFailure(
  generator: string,
  platform: Platform,
  err: unknown,
  hint?: string,
): PolyarchError {
  let name = generator;
  try {
    name = generatorName(generator);
  } catch {
    // not a reference: the error says so; name it as given
  }
  const message = `generating sbom using ${name} for ${formatPlatform(platform)}: ${messageOf(err)}${hint ? ` (${hint})` : ''}`;
  if (err instanceof NotFoundError) return new NotFoundError(message, { cause: err });
  return new BuildError(message, { cause: err });
}
