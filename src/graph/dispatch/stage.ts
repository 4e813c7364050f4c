/**
 * graph/dispatch/stage — one stage: its starting state (a base stage, a base image, a local
 * named context, or scratch; or a `--build-context` that replaces the stage), then each of its
 * commands dispatched in order, ONBUILD triggers first.
 */
import { dispatchScope, imageScope, type PlannedStage } from '../../dockerfile/index.js';
import type { Platform } from '../../oci/types.js';
import { formatPlatform, normalizePlatform } from '../../platforms/index.js';
import type { Vertex } from '../ops.js';
import { dispatch } from './index.js';
import { countSteps, StageNamer } from './naming.js';
import { localRootfs, scratchVertex } from './sources.js';
import { type Conversion, Step } from './step.js';
import type { NamedContext, StageState } from './types.js';

export async function convertStage(conv: Conversion, planned: PlannedStage): Promise<StageState> {
  const platform = normalizePlatform(planned.platform ?? conv.opts.targetPlatform);
  const replacement = planned.stage.name ? conv.sources.named(planned.stage.name) : undefined;
  if (replacement) return replacedStage(conv, planned, replacement, platform);

  const total = countSteps(planned.base.kind === 'image', planned.commands);
  const namer = new StageNamer(conv.opts.multiPlatform, planned.displayName, total, platform);
  const state = await startStage(conv, planned, namer, platform);
  if (!(state.config.Env ?? []).some((e) => e.startsWith('PATH='))) {
    state.config.Env = [...(state.config.Env ?? []), `PATH=${state.scope.vars.get('PATH')}`];
  }
  const walk = dispatchScope(conv.plan, planned, state.scope);
  for (const [index, step] of walk.steps.entries()) {
    await dispatch(new Step(conv, planned, state, namer, step, index));
  }
  state.scope = walk.end;
  return state;
}

/** The state a stage starts from, before its commands. */
async function startStage(
  conv: Conversion,
  planned: PlannedStage,
  namer: StageNamer,
  platform: Platform,
): Promise<StageState> {
  const { base } = planned;
  if (base.kind === 'stage') return inherit(conv.sources.states.get(base.index)!);
  const empty: StageState = {
    vertex: scratchVertex,
    config: {},
    history: [],
    platform,
    scope: imageScope([]),
  };
  if (base.kind === 'scratch') return empty;
  const location = locationOf(conv, planned);
  const local = conv.sources.named(base.ref);
  if (local?.kind === 'local') {
    const vertex = localRootfs(local.vertex, platform, namer.name(`FROM ${planned.baseName}`, new Map()));
    return { ...empty, vertex: { ...vertex, location } };
  }
  let fromName = '';
  const src = await conv.sources.image(base.ref, platform, (r) => {
    fromName = namer.name(`FROM ${r.pinned}`, new Map());
    return fromName;
  });
  // a vertex made earlier (another stage FROM the same image): the step still counts
  if (!fromName) namer.name('', new Map());
  const image = src.resolved.config;
  const config = structuredClone(image.config ?? {});
  // the image's triggers run here (they are among the planned commands) and are not passed on
  delete config.OnBuild;
  return {
    vertex: src.vertex === scratchVertex ? scratchVertex : { ...src.vertex, location },
    config,
    history: (image.history ?? []).map((h) => ({ entry: h })),
    platform,
    scope: imageScope(config.Env ?? []),
    ...(image.author ? { author: image.author } : {}),
  };
}

/** A stage FROM an earlier stage: its state, copied; the base's triggers run here, not after. */
function inherit(base: StageState): StageState {
  const config = structuredClone(base.config);
  delete config.OnBuild;
  return {
    vertex: base.vertex,
    config,
    history: [...base.history],
    platform: base.platform,
    scope: { vars: new Map(base.scope.vars), args: [...base.scope.args] },
    ...(base.author ? { author: base.author } : {}),
  };
}

/** `--build-context NAME=…` replaces the stage NAME: its instructions are not run. */
async function replacedStage(
  conv: Conversion,
  planned: PlannedStage,
  replacement: NamedContext,
  platform: Platform,
): Promise<StageState> {
  const name = planned.stage.name;
  const label = `[${conv.opts.multiPlatform ? `${formatPlatform(platform)} ` : ''}context ${name}]`;
  if (replacement.kind === 'local') {
    const vertex: Vertex = { ...localRootfs(replacement.vertex, platform, `${label} copy`), hidden: true };
    return { vertex, config: {}, history: [], platform, scope: imageScope([]) };
  }
  const src = await conv.sources.image(name, platform, (r) => `${label} FROM ${r.pinned}`);
  const config = structuredClone(src.resolved.config.config ?? {});
  delete config.OnBuild;
  return {
    vertex: src.vertex,
    config,
    history: (src.resolved.config.history ?? []).map((h) => ({ entry: h })),
    platform,
    scope: imageScope(config.Env ?? []),
  };
}

function locationOf(conv: Conversion, planned: PlannedStage) {
  const { startLine, endLine } = planned.stage.from.location;
  return { file: conv.opts.dockerfile.file, startLine, endLine };
}
