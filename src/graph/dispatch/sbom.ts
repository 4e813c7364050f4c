/**
 * graph/dispatch/sbom — what an SBOM scan of the target looks at besides the target's own
 * filesystem (BuildKit's SBOMTargets): the build context when `BUILDKIT_SBOM_SCAN_CONTEXT` is on
 * for the target stage, and each other stage the target needs when `BUILDKIT_SBOM_SCAN_STAGE` is
 * on for that stage.
 *
 * As in BuildKit's dockerfile2llb, the two are ARGs that only count where declared: a global ARG
 * (for every stage) or an ARG of the stage (or of a stage it is built FROM), with `--build-arg`
 * overriding the declared value; a `--build-arg` alone, never declared, turns nothing on. The
 * value is a boolean (`true`, `1`, `false`, …) or a comma list of stage names.
 */
import type { BuildPlan, Scope } from '../../dockerfile/index.js';
import type { Vertex } from '../ops.js';
import { localRootfs } from './sources.js';
import type { ConvertOptions, SBOMTargets, StageState } from './types.js';

export const sbomScanContextArg = 'BUILDKIT_SBOM_SCAN_CONTEXT';
export const sbomScanStageArg = 'BUILDKIT_SBOM_SCAN_STAGE';

/** Go's strconv.ParseBool, undefined for anything else. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** BuildKit's isEnabledForStage: a boolean, or a comma list that names the stage. */
export function enabledForStage(stage: string, value: string): boolean {
  return parseBool(value) ?? value.split(',').includes(stage);
}

/** Whether `arg` is on for a stage: the global ARG first, then the stage's own ARGs in order. */
export function scanArgOn(
  arg: string,
  stage: string,
  globalArgs: ReadonlyMap<string, string>,
  scope: Scope,
): boolean {
  let on = false;
  const global = globalArgs.get(arg);
  if (global !== undefined) on = enabledForStage(stage, global);
  for (const a of scope.args)
    if (a.key === arg && a.value !== undefined) on = enabledForStage(stage, a.value);
  return on;
}

/**
 * The extra scan targets of a converted target. `opts.context` is the build context's vertex; it is
 * scanned as a filesystem (its files, .dockerignore applied, copied onto scratch once for every
 * target platform: the copy runs on the build platform).
 */
export function sbomTargets(
  plan: BuildPlan,
  states: ReadonlyMap<number, StageState>,
  opts: Pick<ConvertOptions, 'context' | 'buildPlatform'>,
): SBOMTargets {
  const stageState = (index: number) => states.get(index)!;
  const target = plan.target;
  const on = (arg: string, index: number, name: string) =>
    scanArgOn(arg, name, plan.globalArgs, stageState(index).scope);
  const stages = new Map<string, Vertex>();
  for (const p of plan.needed) {
    if (p.index === target.index || !on(sbomScanStageArg, p.index, p.displayName)) continue;
    stages.set(p.displayName, stageState(p.index).vertex);
  }
  return {
    ...(on(sbomScanContextArg, target.index, target.displayName)
      ? {
          context: {
            ...localRootfs(opts.context, opts.buildPlatform, '[internal] load build context for sbom'),
            hidden: true,
          },
        }
      : {}),
    stages,
  };
}
