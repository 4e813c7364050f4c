/**
 * graph/convert — a Dockerfile for one target platform → the build graph and the image config
 * (BuildKit's dockerfile2llb). The plan says which stages the target needs; each is converted
 * in order, its instructions dispatched one by one (graph/dispatch): RUN becomes an exec op,
 * COPY/ADD and WORKDIR file ops, the rest change the image config; every instruction adds its
 * history entry with BuildKit's wording.
 *
 * Ops that mean the same thing get equal definitions, so the steps of a
 * `FROM --platform=$BUILDPLATFORM` stage are the same vertices for every target and run once.
 * Progress names follow BuildKit: `[linux/amd64->arm64 builder 6/6] RUN go build -o hello .`.
 *
 * Base images are resolved through the injected `resolveImage` (registry or local store);
 * nothing else here does I/O.
 */

import {
  type BuildPlan,
  type Command,
  type PlannedStage,
  parseTriggers,
  planBuild,
} from '../dockerfile/index.js';
import { normalizePlatform } from '../platforms/index.js';
import { type Conversion, Sources } from './dispatch/index.js';
import { sbomTargets } from './dispatch/sbom.js';
import { convertStage } from './dispatch/stage.js';
import type { ConvertOptions, ConvertResult, StageState } from './dispatch/types.js';

export { namedContextKey, scratchVertex } from './dispatch/index.js';
export type {
  ConvertOptions,
  ConvertResult,
  HistoryStep,
  NamedContext,
  ResolvedImage,
  SBOMTargets,
} from './dispatch/types.js';

/**
 * Converts the Dockerfile for one target platform. `resolveImage` is called for every base
 * image and `COPY --from`/`--mount from=` image the target needs.
 */
export async function convertDockerfile(opts: ConvertOptions): Promise<ConvertResult> {
  const states = new Map<number, StageState>();
  const sources = new Sources(opts, states);
  const plan = await planWithTriggers(opts, sources);
  const conv: Conversion = { opts, plan, sources };
  for (const planned of plan.needed) states.set(planned.index, await convertStage(conv, planned));
  return {
    ...imageOf(opts, states.get(plan.target.index)!),
    sbom: sbomTargets(plan, states, opts),
  };
}

/**
 * The plan, with each stage's ONBUILD triggers (from its base stage or base image) among its
 * commands, so that a trigger's `COPY --from=<stage>` makes that stage needed, as BuildKit
 * resolves base images before it orders stages. Triggers can add stages, whose bases can add
 * triggers: planned again until no stage gains any.
 */
async function planWithTriggers(opts: ConvertOptions, sources: Sources): Promise<BuildPlan> {
  let triggers = new Map<number, Command[]>();
  for (;;) {
    const plan = planBuild(opts.dockerfile, {
      buildArgs: opts.buildArgs,
      targetPlatform: opts.targetPlatform,
      buildPlatform: opts.buildPlatform,
      ...(opts.target ? { target: opts.target } : {}),
      triggers,
    });
    // every stage's base is resolved at once, as BuildKit does; the first failure in stage
    // order is the one reported
    const settled = await Promise.allSettled(plan.needed.map((p) => triggersOf(opts, plan, sources, p)));
    const next = new Map<number, Command[]>();
    plan.needed.forEach((p, i) => {
      const r = settled[i]!;
      if (r.status === 'rejected') throw r.reason;
      if (r.value.length > 0)
        next.set(p.index, parseTriggers(opts.dockerfile, r.value, p.stage.from.location));
    });
    if (next.size === triggers.size) return plan;
    triggers = next;
  }
}

/** The ONBUILD trigger texts that run first in a stage. */
async function triggersOf(
  opts: ConvertOptions,
  plan: BuildPlan,
  sources: Sources,
  p: PlannedStage,
): Promise<string[]> {
  if (p.stage.name && sources.named(p.stage.name)) return []; // replaced: nothing of it runs
  const { base } = p;
  if (base.kind === 'stage') {
    const b = plan.stages[base.index]!;
    if (b.stage.name && sources.named(b.stage.name)) return [];
    return b.stage.commands.flatMap((c) => (c.kind === 'ONBUILD' ? [c.expression] : []));
  }
  if (base.kind !== 'image' || sources.named(base.ref)?.kind === 'local') return [];
  const image = await sources.resolve(base.ref, normalizePlatform(p.platform ?? opts.targetPlatform));
  return image.config.config?.OnBuild ?? [];
}

/** The target stage as an image config for the target platform, with `--label`s. */
function imageOf(opts: ConvertOptions, target: StageState): Omit<ConvertResult, 'sbom'> {
  const config = structuredClone(target.config);
  if (Object.keys(opts.labels).length) config.Labels = { ...(config.Labels ?? {}), ...opts.labels };
  if (config.OnBuild && config.OnBuild.length === 0) delete config.OnBuild;
  // the image is for the target platform, whatever platform its last stage ran on
  const platform = normalizePlatform(opts.targetPlatform);
  return {
    vertex: target.vertex,
    image: {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      ...(target.author ? { author: target.author } : {}),
      config,
    },
    history: target.history,
    platform,
  };
}
