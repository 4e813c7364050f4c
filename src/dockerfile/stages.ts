/**
 * dockerfile/stages — what to build for one target platform (BuildKit's toDispatchState, up to
 * but not including the build graph): the global ARG scope with the automatic platform ARGs,
 * FROM names and `--platform` expanded, stage references resolved (`FROM stage`,
 * `COPY --from=name|index|image`, `RUN --mount=from=…`), the target picked, and the stages it
 * needs in dependency order. `dispatchScope` then walks one stage's ARG/ENV scope and expands
 * each instruction's words the way BuildKit does at dispatch.
 *
 *     const plan = planBuild(df, { buildArgs, targetPlatform, buildPlatform, target: 'app' });
 *     for (const s of plan.needed) { … s.base, s.platform, s.deps … }
 *
 * Pure: image configs are not fetched here; the caller passes a base image's ENV in.
 */
import { DockerfileError } from '../errors.js';
import { formatPlatform, type Platform, parsePlatform } from '../platforms/index.js';
import { parseReference } from '../reference/index.js';
import { expandInstruction } from './instructions/expand.js';
import { parseMount } from './instructions/mount.js';
import { suggest } from './instructions/suggest.js';
import type { ArgDefinition, Command, Dockerfile, SourceRange, Stage } from './instructions/types.js';
import { type EnvGetter, envFromList, ShellLex } from './shell/lex.js';

/** A variable map read by the lexer; insertion order is kept. */
export type Vars = ReadonlyMap<string, string>;

export interface PlanOptions {
  /** `--build-arg` values (bare names already resolved from the environment) */
  buildArgs?: Vars | Readonly<Record<string, string>>;
  targetPlatform: Platform;
  /** the platform the build runs on (BUILDPLATFORM) */
  buildPlatform: Platform;
  /** `--target`; default the last stage */
  target?: string;
  /**
   * ONBUILD triggers that run first in a stage (from its base stage or base image), per stage
   * index; their `COPY --from` and `--mount from=` count among the stage's dependencies
   */
  triggers?: ReadonlyMap<number, readonly Command[]>;
}

/** Where a stage starts from. */
export type StageBase =
  | { kind: 'scratch' }
  | { kind: 'stage'; index: number }
  | { kind: 'image'; ref: string };

/** Something a stage reads from (COPY --from, RUN --mount from=). */
export type StageSource = { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

export interface PlannedStage {
  stage: Stage;
  index: number;
  /** the stage's name, `stage-N` when it has none, '' when the Dockerfile has a single stage */
  displayName: string;
  /** FROM's name after global ARG expansion */
  baseName: string;
  base: StageBase;
  /** FROM --platform, expanded and parsed; undefined means the target platform */
  platform: Platform | undefined;
  /** what the stage runs: its base's ONBUILD triggers first, then its own commands */
  commands: Command[];
  /** how many of `commands` are triggers */
  triggerCount: number;
  /** per index into `commands`, the sources it reads from other stages or images */
  sources: Map<number, StageSource[]>;
  /** indexes of the stages this one needs (its base and sources), ascending */
  deps: number[];
  /** global ARGs used by FROM (name, platform), for the outline */
  usedGlobalArgs: Set<string>;
}

export interface BuildPlan {
  dockerfile: Dockerfile;
  stages: PlannedStage[];
  target: PlannedStage;
  /** the target and every stage it needs, dependencies first */
  needed: PlannedStage[];
  /** automatic platform ARGs and global ARGs, build-args applied (what FROM lines see) */
  globalArgs: Map<string, string>;
  /** every global ARG declared, with its value and dependencies, for the outline */
  metaArgs: Map<string, ArgInfo>;
  buildArgs: Map<string, string>;
  targetPlatform: Platform;
  buildPlatform: Platform;
  lex: ShellLex;
}

export interface ArgInfo {
  definition: ArgDefinition;
  /** resolved value, '' when unset */
  value: string;
  /** other ARGs its default refers to */
  deps: Set<string>;
  location: SourceRange;
}

/** The automatic platform ARGs (BuildKit's defaultArgs), overridable by build-args. */
export function automaticArgs(
  targetPlatform: Platform,
  buildPlatform: Platform,
  targetStage: string,
  overrides: Vars = new Map(),
): Map<string, string> {
  const pairs: [string, string][] = [
    ['BUILDPLATFORM', formatPlatform(buildPlatform)],
    ['BUILDOS', buildPlatform.os],
    ['BUILDOSVERSION', buildPlatform['os.version'] ?? ''],
    ['BUILDARCH', buildPlatform.architecture],
    ['BUILDVARIANT', buildPlatform.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(targetPlatform)],
    ['TARGETOS', targetPlatform.os],
    ['TARGETOSVERSION', targetPlatform['os.version'] ?? ''],
    ['TARGETARCH', targetPlatform.architecture],
    ['TARGETVARIANT', targetPlatform.variant ?? ''],
    ['TARGETSTAGE', targetStage],
  ];
  return new Map(pairs.map(([k, v]) => [k, overrides.get(k) ?? v]));
}

/** BuildKit's predefined proxy args: usable without an ARG line, kept out of history and image. */
export const proxyBuildArgs: readonly string[] = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

/** Build-args that need no ARG to be consumed (proxies and BuildKit's own switches). */
export const builtinBuildArgs = new Set([...proxyBuildArgs, 'SOURCE_DATE_EPOCH']);

function toMap(v: Vars | Readonly<Record<string, string>> | undefined): Map<string, string> {
  if (!v) return new Map();
  if (v instanceof Map) return new Map(v);
  return new Map(Object.entries(v as Record<string, string>));
}

/** A DockerfileError at an instruction: its first line, at its first non-blank column. */
export function errorAt(
  df: Dockerfile,
  range: SourceRange,
  message: string,
  cause?: unknown,
): DockerfileError {
  const text = df.lines[range.startLine - 1] ?? '';
  const m = /\S/.exec(text);
  return new DockerfileError(
    { file: df.file, line: range.startLine, column: m ? m.index + 1 : 1 },
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** Resolves stages, references and the target for one target platform. */
export function planBuild(df: Dockerfile, options: PlanOptions): BuildPlan {
  if (df.stages.length === 0) {
    throw new DockerfileError(
      { file: df.file, line: Math.max(1, df.lines.length), column: 1 },
      'dockerfile contains no stages to build',
    );
  }
  const buildArgs = toMap(options.buildArgs);
  const lex = new ShellLex({ escapeToken: df.escapeToken });
  const last = df.stages[df.stages.length - 1]!;
  const targetName = options.target || last.name;
  let globalArgs = automaticArgs(options.targetPlatform, options.buildPlatform, targetName, buildArgs);

  // global ARGs, in order, each seeing the ones before it
  const metaArgs = new Map<string, ArgInfo>();
  for (const cmd of df.metaArgs) {
    for (const def of cmd.args) {
      const info: ArgInfo = { definition: def, value: '', deps: new Set(), location: cmd.location };
      let value: string | undefined;
      if (buildArgs.has(def.key)) value = buildArgs.get(def.key)!;
      else if (def.value !== undefined) {
        let r: ReturnType<ShellLex['processWord']>;
        try {
          r = lex.processWord(def.value, globalArgs);
        } catch (err) {
          throw errorAt(df, cmd.location, (err as Error).message, err);
        }
        value = r.result;
        info.deps = new Set(r.matched);
        if (r.matched.has(def.key)) {
          info.deps.delete(def.key);
          for (const d of metaArgs.get(def.key)?.deps ?? []) info.deps.add(d);
        }
      }
      if (value !== undefined) {
        globalArgs = new Map(globalArgs).set(def.key, value);
        info.value = value;
      }
      metaArgs.set(def.key, info);
    }
  }

  const byName = new Map<string, number>();
  const planned: PlannedStage[] = [];
  for (const stage of df.stages) {
    const loc = stage.from.location;
    const used = new Set<string>();
    let baseName: string;
    try {
      const r = lex.processWord(stage.from.baseName, globalArgs);
      baseName = r.result;
      for (const k of r.matched) used.add(k);
    } catch (err) {
      throw errorAt(df, loc, (err as Error).message, err);
    }
    if (baseName === '') throw errorAt(df, loc, `base name (${stage.from.baseName}) should not be blank`);
    let platform: Platform | undefined;
    if (stage.from.platform !== '') {
      let value: string;
      try {
        const r = lex.processWord(stage.from.platform, globalArgs);
        value = r.result;
        for (const k of r.matched) used.add(k);
      } catch (err) {
        throw errorAt(df, loc, `failed to process arguments for platform: ${(err as Error).message}`, err);
      }
      if (value === '') {
        throw errorAt(df, loc, `empty platform value from expression ${stage.from.platform}`);
      }
      try {
        platform = parsePlatform(value, options.buildPlatform);
      } catch (err) {
        throw errorAt(
          df,
          loc,
          `failed to parse platform ${stage.from.platform}: ${(err as Error).message}`,
          err,
        );
      }
    }
    const baseIndex = byName.get(baseName);
    const base: StageBase =
      baseIndex !== undefined
        ? { kind: 'stage', index: baseIndex }
        : baseName === 'scratch'
          ? { kind: 'scratch' }
          : { kind: 'image', ref: baseName };
    const triggers = options.triggers?.get(stage.index) ?? [];
    planned.push({
      stage,
      index: stage.index,
      commands: [...triggers, ...stage.commands],
      triggerCount: triggers.length,
      displayName: stage.name || `stage-${stage.index}`,
      baseName,
      base,
      platform,
      sources: new Map(),
      deps: [],
      usedGlobalArgs: used,
    });
    if (stage.name !== '') byName.set(stage.name, stage.index);
  }
  if (planned.length === 1) planned[0]!.displayName = '';

  // references from commands: COPY --from and RUN --mount from=
  for (const p of planned) {
    const deps = new Set<number>();
    if (p.base.kind === 'stage') deps.add(p.base.index);
    p.commands.forEach((cmd, i) => {
      const srcs: StageSource[] = [];
      if (cmd.kind === 'COPY' && cmd.from !== '') {
        if (/^[+-]?\d+$/.test(cmd.from)) {
          const index = Number.parseInt(cmd.from, 10);
          if (index < 0 || index >= planned.length)
            throw errorAt(df, cmd.location, `invalid stage index ${index}`);
          srcs.push({ kind: 'stage', index });
        } else {
          const index = byName.get(cmd.from.toLowerCase());
          srcs.push(index !== undefined ? { kind: 'stage', index } : { kind: 'image', ref: cmd.from });
        }
      }
      if (cmd.kind === 'RUN') {
        for (const raw of cmd.mounts) {
          const from = parseMount(raw).from;
          if (from === '') continue;
          const index = byName.get(from.toLowerCase());
          srcs.push(index !== undefined ? { kind: 'stage', index } : { kind: 'image', ref: from });
        }
      }
      if (srcs.length === 0) return;
      p.sources.set(i, srcs);
      for (const s of srcs) if (s.kind === 'stage') deps.add(s.index);
    });
    p.deps = [...deps].sort((a, b) => a - b);
  }
  checkCycles(df, planned);

  let target: PlannedStage;
  if (!options.target) target = planned[planned.length - 1]!;
  else {
    const index = byName.get(options.target.toLowerCase());
    if (index === undefined) {
      const names = planned.map((p) => p.stage.name).filter((n) => n !== '');
      const close = suggest(options.target, names, true);
      const hint = close
        ? ` (did you mean ${close}?)`
        : names.length > 0
          ? ` (stages: ${names.join(', ')})`
          : ' (the Dockerfile has no named stages)';
      throw errorAt(df, last.from.location, `target stage "${options.target}" could not be found${hint}`);
    }
    target = planned[index]!;
  }

  const reachable = new Set<number>();
  const visit = (i: number) => {
    if (reachable.has(i)) return;
    reachable.add(i);
    for (const d of planned[i]!.deps) visit(d);
  };
  visit(target.index);
  const needed = planned.filter((p) => reachable.has(p.index));

  for (const p of needed) {
    // references must be to earlier stages, as BuildKit dispatches in file order
    for (const [i, srcs] of p.sources) {
      const cmd = p.commands[i]!;
      for (const s of srcs) {
        if (s.kind === 'stage' && s.index >= p.index) {
          const name = cmd.kind === 'COPY' ? cmd.from : planned[s.index]!.stage.name;
          throw errorAt(
            df,
            cmd.location,
            `cannot copy from stage "${name}", it needs to be defined before current stage "${p.displayName || p.stage.name}"`,
          );
        }
        if (s.kind === 'image') checkReference(df, cmd.location, s.ref);
      }
    }
    if (p.base.kind === 'image') checkReference(df, p.stage.from.location, p.base.ref);
  }

  return {
    dockerfile: df,
    stages: planned,
    target,
    needed,
    globalArgs,
    metaArgs,
    buildArgs,
    targetPlatform: options.targetPlatform,
    buildPlatform: options.buildPlatform,
    lex,
  };
}

function checkReference(df: Dockerfile, loc: SourceRange, ref: string): void {
  try {
    parseReference(ref);
  } catch (err) {
    throw errorAt(df, loc, `failed to parse stage name "${ref}": ${(err as Error).message}`, err);
  }
}

function checkCycles(df: Dockerfile, planned: PlannedStage[]): void {
  const state = new Map<number, 'visiting' | 'done'>();
  const walk = (i: number) => {
    const s = state.get(i);
    if (s === 'done') return;
    if (s === 'visiting') {
      const p = planned[i]!;
      throw errorAt(
        df,
        p.stage.from.location,
        `circular dependency detected on stage: ${p.displayName || p.stage.name}`,
      );
    }
    state.set(i, 'visiting');
    for (const d of planned[i]!.deps) walk(d);
    state.set(i, 'done');
  };
  for (const p of planned) walk(p.index);
}

/** Build-args no ARG of the needed stages (or the global scope) declares. */
export function unusedBuildArgs(plan: BuildPlan): string[] {
  const declared = new Set<string>(plan.metaArgs.keys());
  for (const p of plan.needed) {
    for (const c of p.stage.commands) if (c.kind === 'ARG') for (const a of c.args) declared.add(a.key);
  }
  return [...plan.buildArgs.keys()]
    .filter((k) => !declared.has(k) && !builtinBuildArgs.has(k) && !plan.globalArgs.has(k))
    .filter((k) => !k.startsWith('BUILDKIT_'))
    .sort();
}

/** One stage's variables at a point: ENV and ARG values in order, and the ARGs in scope. */
export interface Scope {
  /** what `$VAR` sees: the base's env, then ENV and ARG values as dispatched */
  vars: Map<string, string>;
  /** ARGs declared so far (inherited from a base stage too), their resolved values */
  args: { key: string; value: string | undefined }[];
}

/** BuildKit's default PATH for Linux images that set none. */
export const defaultPathEnv = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The starting scope for a stage from an image: its config Env, PATH added when missing. */
export function imageScope(env: readonly string[] = []): Scope {
  const vars = envFromList(env);
  if (!vars.has('PATH')) vars.set('PATH', defaultPathEnv);
  return { vars, args: [] };
}

export interface DispatchStep {
  /** the command with its words expanded (ARG's default values included) */
  command: Command;
  /** the variables it was expanded with (what a RUN sees) */
  scope: Scope;
  /** variables looked up and not set, for the undefined-variable lint */
  unmatched: Set<string>;
}

export interface DispatchResult {
  steps: DispatchStep[];
  /** the scope after the last command: the start of stages built FROM this one */
  end: Scope;
  /** ARGs this stage declared, with resolved values, for the outline */
  declaredArgs: {
    definition: ArgDefinition;
    value: string | undefined;
    inherited: boolean;
    location: SourceRange;
  }[];
}

const nonEnvArgs = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

/**
 * Walks a stage's commands from `start`, applying ARG and ENV in order and expanding each
 * command's words as BuildKit does at dispatch. Errors carry the command's location.
 */
export function dispatchScope(
  plan: BuildPlan,
  stage: PlannedStage,
  start: Scope,
  options: { expandCommands?: boolean } = {},
): DispatchResult {
  const df = plan.dockerfile;
  const vars = new Map(start.vars);
  const args = [...start.args];
  const steps: DispatchStep[] = [];
  const declaredArgs: DispatchResult['declaredArgs'] = [];
  const expandCommands = options.expandCommands ?? true;
  for (const cmd of stage.commands) {
    const unmatched = new Set<string>();
    const env: EnvGetter = vars;
    const scope: Scope = { vars: new Map(vars), args: [...args] };
    const expand = (w: string) => {
      const r = plan.lex.processWord(w, env);
      for (const u of r.unmatched) unmatched.add(u);
      return r;
    };
    const word = (w: string) => expand(w).result;
    const words = (w: string) => expand(w).words;
    let expanded: Command = cmd;
    try {
      if (cmd.kind === 'ARG') {
        const defs: ArgDefinition[] = [];
        for (const a of cmd.args) {
          const hasValue = plan.buildArgs.has(a.key);
          let value = a.value;
          let inherited = false;
          if (value === undefined && !hasValue && plan.globalArgs.has(a.key)) {
            value = plan.globalArgs.get(a.key)!;
            inherited = true;
          }
          if (hasValue) value = plan.buildArgs.get(a.key)!;
          else if (a.value !== undefined) value = word(a.value);
          if (value !== undefined && !nonEnvArgs.has(a.key)) vars.set(a.key, value);
          args.push({ key: a.key, value });
          defs.push({ ...a, value });
          declaredArgs.push({ definition: a, value, inherited, location: cmd.location });
        }
        expanded = { ...cmd, args: defs };
      } else if (expandCommands) {
        expanded = expandInstruction(cmd, { word, words });
      }
    } catch (err) {
      throw errorAt(df, cmd.location, (err as Error).message, err);
    }
    if (expanded.kind === 'ENV') for (const e of expanded.env) vars.set(e.key, e.value);
    steps.push({ command: expanded, scope, unmatched });
  }
  return { steps, end: { vars, args }, declaredArgs };
}

/** The BuildKit-style step name of a command: `RUN go build -o hello .` with variables applied. */
export function stepName(plan: BuildPlan, original: string, vars: Vars): string {
  let text = original;
  try {
    text = plan.lex.with({ rawQuotes: true, skipUnsetEnv: true }).processWord(original, vars).result;
  } catch {
    // keep the text as written
  }
  const sp = text.indexOf(' ');
  return sp < 0 ? text.toUpperCase() : text.slice(0, sp).toUpperCase() + text.slice(sp);
}
