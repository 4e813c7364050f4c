/**
 * api/call — `build --call`: BuildKit's subrequests answered from the Dockerfile alone, as
 * data: `check` (the build checks' warnings), `targets` (the stages and their descriptions),
 * `outline` (the build arguments a target uses and where). Nothing is built; the formatters
 * for buildx's text and JSON come with them.
 */
import { loadDockerfileSource } from '../build/definition.js';
import type { BuildOptions, CallSpec } from '../build/options.js';
import {
  buildOutline,
  type Dockerfile,
  type LintWarning,
  lintDockerfile,
  listTargets,
  type Outline,
  type PlanOptions,
  planBuild,
  readDockerfile,
  type TargetInfo,
} from '../dockerfile/index.js';
import type { Platform } from '../platforms/index.js';

export {
  formatLintResults,
  formatOutline,
  formatTargets,
  type LintWarning,
  type Outline,
  outlineJSON,
  type TargetInfo,
  targetsJSON,
} from '../dockerfile/index.js';

export type CallResult =
  | { call: 'check'; dockerfile: Dockerfile; warnings: LintWarning[] }
  | { call: 'targets'; source: string; targets: TargetInfo[] }
  | { call: 'outline'; source: string; outline: Outline };

/** Answers `--call check|targets|outline` for the options' Dockerfile, evaluated for the first target platform. */
export async function callBuild(
  ctx: { cwd: string; stdin: NodeJS.ReadableStream },
  o: BuildOptions,
  call: Exclude<CallSpec['name'], 'build'>,
  host: Platform,
): Promise<CallResult> {
  const { name, source } = await loadDockerfileSource(ctx, o);
  const dockerfile = readDockerfile(source, { file: name });
  const text = source.toString('utf8');
  const planOptions: PlanOptions = {
    buildArgs: o.buildArgs,
    targetPlatform: o.platforms[0] ?? host,
    buildPlatform: host,
    ...(o.target ? { target: o.target } : {}),
  };
  switch (call) {
    case 'check':
      return { call, dockerfile, warnings: lintDockerfile(dockerfile, planOptions) };
    case 'targets':
      return { call, source: text, targets: listTargets(dockerfile) };
    case 'outline':
      return { call, source: text, outline: buildOutline(planBuild(dockerfile, planOptions)) };
  }
}
