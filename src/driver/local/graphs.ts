/**
 * driver/local/graphs — the local engine's plan: a node's share of a build → one op graph per
 * target platform, checked before anything runs (BuildKit's frontend step, then its
 * entitlement and platform checks).
 *
 * Pure but for what is injected: base images are resolved through `resolveImage`, and the
 * emulation preflight is `checkPlatforms` (it reads binfmt_misc). A graph that needs an
 * entitlement the build was not given, or a platform this host cannot run, is refused here,
 * naming the step or the platform, so that no step of any platform has run.
 */
import {
  type ConvertResult,
  convertDockerfile,
  type NamedContext,
  namedContextKey,
  type ResolvedImage,
} from '../../graph/convert.js';
import type { ExecOp, Vertex } from '../../graph/ops.js';
import { VertexError } from '../../graph/solver.js';
import { formatPlatform, type Platform } from '../../platforms/index.js';
import type { SolveRequest } from '../types.js';

export interface GraphPlanInput {
  request: SolveRequest;
  /** the platform steps run on natively (`$BUILDPLATFORM`) */
  buildPlatform: Platform;
  /** the directory the build context is read from */
  contextDir: string;
  resolveImage: (ref: string, platform: Platform) => Promise<ResolvedImage>;
  /** throws for a platform whose RUN steps this host cannot run */
  checkPlatforms: (platforms: Platform[]) => void;
}

/** The build context's vertex, and the named contexts keyed as the converter looks them up. */
function contextVertices(input: GraphPlanInput): { context: Vertex; named: Map<string, NamedContext> } {
  const context: Vertex = {
    op: { type: 'context', name: 'context', dir: input.contextDir },
    inputs: [],
    name: '[internal] load build context',
  };
  const named = new Map<string, NamedContext>();
  for (const [name, source] of input.request.namedContexts) {
    named.set(
      namedContextKey(name),
      source.kind === 'local'
        ? {
            kind: 'local',
            vertex: {
              op: { type: 'context', name: `context:${name}`, dir: source.dir },
              inputs: [],
              name: `[context ${name}] load from client`,
            },
          }
        : { kind: 'image', ref: source.ref },
    );
  }
  return { context, named };
}

/** One graph per platform of the request, in its order, checked. */
export async function planGraphs(input: GraphPlanInput): Promise<ConvertResult[]> {
  const r = input.request;
  const { context, named } = contextVertices(input);
  const buildArgs = new Map(Object.entries(r.buildArgs));
  const graphs = await Promise.all(
    r.platforms.map((p) =>
      convertDockerfile({
        dockerfile: r.definition.parsed,
        targetPlatform: p,
        buildPlatform: input.buildPlatform,
        buildArgs,
        ...(r.target ? { target: r.target } : {}),
        multiPlatform: r.multiPlatform,
        context,
        resolveImage: input.resolveImage,
        network: r.network,
        extraHosts: r.addHosts.map((h) => `${h.host}:${h.ip}`),
        labels: { ...r.labels },
        namedContexts: named,
      }),
    ),
  );
  const runSteps = execSteps(graphs.map((g) => g.vertex));
  checkEntitlements(runSteps, r.allow);
  input.checkPlatforms([
    ...new Map(runSteps.map((v) => [formatPlatform(v.op.platform), v.op.platform])).values(),
  ]);
  return graphs;
}

/** The RUN steps of these graphs, each once. */
function execSteps(roots: readonly Vertex[]): (Vertex & { op: ExecOp })[] {
  const seen = new Set<Vertex>();
  const out: (Vertex & { op: ExecOp })[] = [];
  const walk = (v: Vertex) => {
    if (seen.has(v)) return;
    seen.add(v);
    if (v.op.type === 'exec') out.push(v as Vertex & { op: ExecOp });
    for (const i of v.inputs) walk(i);
  };
  for (const r of roots) walk(r);
  return out;
}

/**
 * `RUN --security=insecure` and `RUN --network=host` need the matching `--allow` entitlement,
 * as in BuildKit; the error names the step.
 */
function checkEntitlements(steps: readonly (Vertex & { op: ExecOp })[], allow: readonly string[]): void {
  for (const v of steps) {
    const need =
      v.op.security === 'insecure'
        ? 'security.insecure'
        : v.op.network === 'host'
          ? 'network.host'
          : undefined;
    if (need && !allow.includes(need)) {
      throw new VertexError(
        v,
        `granting entitlement ${need} is not allowed by build daemon configuration: pass --allow ${need}`,
      );
    }
  }
}
