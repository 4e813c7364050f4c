/**
 * dockerfile/lint — BuildKit's build checks (`--check`, `--call check`; frontend/dockerfile/
 * linter), the rules that need no base image metadata: casing, stage names, empty
 * continuations, JSON args, MAINTAINER, undeclared FROM args, relative WORKDIR, undefined
 * variables (for stages built from scratch, where every variable is known), repeated
 * CMD/ENTRYPOINT/HEALTHCHECK, legacy `KEY value`, secrets in ARG/ENV, redundant or constant
 * FROM --platform, invalid default base names and EXPOSE protocol casing.
 * `# check=skip=Rule1,Rule2` and `# check=skip=all` are honoured.
 */
import { DockerfileError } from '../errors.js';
import { parseGoBool } from '../goparse.js';
import { parsePlatform } from '../platforms/index.js';
import { parseReference } from '../reference/index.js';
import { formatExcerpt } from './excerpt.js';
import { suggest } from './instructions/suggest.js';
import type { Dockerfile, SourceRange } from './instructions/types.js';
import {
  type BuildPlan,
  dispatchScope,
  imageScope,
  type PlanOptions,
  planBuild,
  type Scope,
} from './stages.js';

/**
 * Whether a COPY/ADD creates directories with a numeric --chmod lacking every x bit (BuildKit
 * v0.24 gives directories the copy creates the --chmod mode, moby/buildkit#4945): the
 * destination is a directory (a trailing slash, or several sources) other than the root.
 */
function chmodHidesCreatedDirs(chmod: string | undefined, dest: string, sources: number): boolean {
  if (!chmod || !/^[0-7]+$/.test(chmod) || (Number.parseInt(chmod, 8) & 0o111) !== 0) return false;
  const dir = dest.endsWith('/') || sources > 1;
  return dir && !['/', '.', './'].includes(dest);
}

export interface LintRule {
  name: string;
  description: string;
  url: string;
}

const rule = (name: string, description: string, slug: string): LintRule => ({
  name,
  description,
  url: `https://docs.docker.com/go/dockerfile/rule/${slug}/`,
});

export const lintRules = {
  StageNameCasing: rule('StageNameCasing', 'Stage names should be lowercase', 'stage-name-casing'),
  ChmodWithoutExecuteOnDirectories: rule(
    'ChmodWithoutExecuteOnDirectories',
    'A numeric --chmod without an execute bit makes the directories a copy creates impossible to enter',
    'chmod-without-execute-on-directories',
  ),
  FromAsCasing: rule(
    'FromAsCasing',
    "The 'as' keyword should match the case of the 'from' keyword",
    'from-as-casing',
  ),
  NoEmptyContinuation: rule(
    'NoEmptyContinuation',
    'Empty continuation lines will become errors in a future release',
    'no-empty-continuation',
  ),
  ConsistentInstructionCasing: rule(
    'ConsistentInstructionCasing',
    'All commands within the Dockerfile should use the same casing (either upper or lower)',
    'consistent-instruction-casing',
  ),
  DuplicateStageName: rule('DuplicateStageName', 'Stage names should be unique', 'duplicate-stage-name'),
  ReservedStageName: rule(
    'ReservedStageName',
    'Reserved words should not be used as stage names',
    'reserved-stage-name',
  ),
  JSONArgsRecommended: rule(
    'JSONArgsRecommended',
    'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
    'json-args-recommended',
  ),
  MaintainerDeprecated: rule(
    'MaintainerDeprecated',
    'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
    'maintainer-deprecated',
  ),
  UndefinedArgInFrom: rule(
    'UndefinedArgInFrom',
    'FROM command must use declared ARGs',
    'undefined-arg-in-from',
  ),
  WorkdirRelativePath: rule(
    'WorkdirRelativePath',
    'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
    'workdir-relative-path',
  ),
  UndefinedVar: rule('UndefinedVar', 'Variables should be defined before their use', 'undefined-var'),
  MultipleInstructionsDisallowed: rule(
    'MultipleInstructionsDisallowed',
    'Multiple instructions of the same type should not be used in the same stage',
    'multiple-instructions-disallowed',
  ),
  LegacyKeyValueFormat: rule(
    'LegacyKeyValueFormat',
    'Legacy key/value format with whitespace separator should not be used',
    'legacy-key-value-format',
  ),
  RedundantTargetPlatform: rule(
    'RedundantTargetPlatform',
    'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
    'redundant-target-platform',
  ),
  SecretsUsedInArgOrEnv: rule(
    'SecretsUsedInArgOrEnv',
    'Sensitive data should not be used in the ARG or ENV commands',
    'secrets-used-in-arg-or-env',
  ),
  InvalidDefaultArgInFrom: rule(
    'InvalidDefaultArgInFrom',
    'Default value for global ARG results in an empty or invalid base image name',
    'invalid-default-arg-in-from',
  ),
  FromPlatformFlagConstDisallowed: rule(
    'FromPlatformFlagConstDisallowed',
    'FROM --platform flag should not use a constant value',
    'from-platform-flag-const-disallowed',
  ),
  ExposeProtoCasing: rule(
    'ExposeProtoCasing',
    'Protocol in EXPOSE instruction should be lowercase',
    'expose-proto-casing',
  ),
} satisfies Record<string, LintRule>;

export interface LintWarning {
  rule: LintRule;
  /** the formatted message: `'as' and 'FROM' keywords' casing do not match` */
  message: string;
  location: SourceRange;
}

export interface LintConfig {
  skip: Set<string>;
  skipAll: boolean;
  /** `error=true`: warnings fail a build */
  error: boolean;
}

/** Parses the `# check=` directive's value (`skip=A,B;error=true`). */
export function parseCheckDirective(value: string, file = 'Dockerfile'): LintConfig {
  const cfg: LintConfig = { skip: new Set(), skipAll: false, error: false };
  const v = value.trim();
  if (v === '') return cfg;
  for (const part of v.split(';', 2)) {
    const eq = part.indexOf('=');
    const bad = (m: string) =>
      new DockerfileError({ file, line: 1, column: 1 }, `failed to parse check options: ${m}`);
    if (eq < 0) throw bad(`invalid check option "${part}"`);
    const k = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (k === 'skip') {
      if (val === 'all') cfg.skipAll = true;
      else for (const r of val.split(',')) cfg.skip.add(r.trim());
    } else if (k === 'error') {
      const error = parseGoBool(val);
      if (error === undefined) throw bad(`invalid check option "${part}"`);
      cfg.error = error;
    } else throw bad(`invalid check option "${k}"`);
  }
  return cfg;
}

const secretDeny =
  /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pass|pword|passwd|secret|token)(?:_|$)/i;
const secretAllow = /(?:_|^)(?:public)(?:_|$)/i;
const reservedStageNames = new Set(['context', 'scratch']);

const selfConsistent = (s: string) => s === s.toLowerCase() || s === s.toUpperCase();

/** Runs the checks over all stages (or, with `target`, the stages it needs). */
export function lintDockerfile(df: Dockerfile, options: PlanOptions): LintWarning[] {
  const cfg = parseCheckDirective(df.check, df.file);
  const out: LintWarning[] = [];
  const warn = (r: LintRule, message: string, location: SourceRange) => {
    if (cfg.skipAll || cfg.skip.has(r.name)) return;
    out.push({ rule: r, message, location });
  };

  for (const w of df.warnings) {
    warn(lintRules.NoEmptyContinuation, 'Empty continuation line', { startLine: w.line, endLine: w.line });
  }

  // stage names and FROM … AS casing
  const seen = new Set<string>();
  for (const s of df.stages) {
    const f = s.from;
    if (s.name === '') continue;
    if (f.stageNameAsWritten !== f.stageNameAsWritten.toLowerCase()) {
      warn(lintRules.StageNameCasing, `Stage name '${f.stageNameAsWritten}' should be lowercase`, f.location);
    }
    const fromLower = f.word === f.word.toLowerCase();
    if (
      selfConsistent(f.word) &&
      (fromLower ? f.asWord !== f.asWord.toLowerCase() : f.asWord !== f.asWord.toUpperCase())
    ) {
      warn(lintRules.FromAsCasing, `'${f.asWord}' and '${f.word}' keywords' casing do not match`, f.location);
    }
    if (reservedStageNames.has(s.name)) {
      warn(
        lintRules.ReservedStageName,
        `Stage name should not use the same name as reserved stage "${s.name}"`,
        f.location,
      );
    }
    if (seen.has(s.name)) {
      warn(
        lintRules.DuplicateStageName,
        `Duplicate stage name "${s.name}", stage names should be unique`,
        f.location,
      );
    }
    seen.add(s.name);
  }

  // instruction casing against the file's majority
  let lower = 0;
  let upper = 0;
  const words = df.stages.flatMap((s) => [s.from as { word: string; location: SourceRange }, ...s.commands]);
  for (const w of words) {
    if (!selfConsistent(w.word)) continue;
    if (w.word === w.word.toLowerCase()) lower++;
    else upper++;
  }
  const majorityLower = lower > upper;
  for (const w of words) {
    let casing = '';
    if (majorityLower && w.word.toLowerCase() !== w.word) casing = 'lowercase';
    else if (!majorityLower && w.word.toUpperCase() !== w.word) casing = 'uppercase';
    if (casing) {
      warn(
        lintRules.ConsistentInstructionCasing,
        `Command '${w.word}' should match the case of the command majority (${casing})`,
        w.location,
      );
    }
  }

  const plan = planBuild(df, options);
  checkFrom(df, plan, warn);

  const stages = options.target ? plan.needed : plan.stages;
  const ends = new Map<number, { scope: Scope; workdirSet: boolean; shellSet: boolean; scratch: boolean }>();
  for (const p of stages) {
    const baseEnd = p.base.kind === 'stage' ? ends.get(p.base.index) : undefined;
    const start = baseEnd?.scope ?? imageScope();
    const scratchRooted = baseEnd ? baseEnd.scratch : p.base.kind === 'scratch';
    let workdirSet = baseEnd?.workdirSet ?? false;
    let shellSet = baseEnd?.shellSet ?? false;
    const used = new Map<string, SourceRange>();
    const r = dispatchScope(plan, p, start);
    for (const step of r.steps) {
      const c = step.command;
      if (scratchRooted && step.unmatched.size > 0) {
        const declared = new Set(step.scope.args.map((a) => a.key));
        const options = [...step.scope.vars.keys()];
        for (const v of step.unmatched) {
          if (declared.has(v)) continue;
          const close = suggest(v, options, true);
          warn(
            lintRules.UndefinedVar,
            `Usage of undefined variable '$${v}'${close ? ` (did you mean $${close}?)` : ''}`,
            c.location,
          );
        }
      }
      switch (c.kind) {
        case 'MAINTAINER':
          warn(
            lintRules.MaintainerDeprecated,
            'Maintainer instruction is deprecated in favor of using label',
            c.location,
          );
          break;
        case 'ENV':
        case 'LABEL': {
          const pairs = c.kind === 'ENV' ? c.env : c.labels;
          if (pairs.some((x) => x.noDelim)) {
            warn(
              lintRules.LegacyKeyValueFormat,
              `"${c.word} key=value" should be used instead of legacy "${c.word} key value" format`,
              c.location,
            );
          }
          if (c.kind === 'ENV') for (const e of c.env) secretCheck('ENV', e.key, c.location);
          break;
        }
        case 'ARG':
          for (const a of c.args) secretCheck('ARG', a.key, c.location);
          break;
        case 'COPY':
        case 'ADD':
          if (chmodHidesCreatedDirs(c.chmod, c.dest, c.sources.length + c.sourceContents.length)) {
            warn(
              lintRules.ChmodWithoutExecuteOnDirectories,
              `${c.word} --chmod=${c.chmod} also sets the mode of the directories it creates for ${c.dest}, which cannot be entered without an execute bit`,
              c.location,
            );
          }
          break;
        case 'SHELL':
          shellSet = true;
          break;
        case 'WORKDIR':
          if (!workdirSet && !c.path.startsWith('/')) {
            warn(
              lintRules.WorkdirRelativePath,
              `Relative workdir "${c.path}" can have unexpected results if the base image changes`,
              c.location,
            );
          }
          workdirSet = true;
          break;
        case 'CMD':
        case 'ENTRYPOINT':
        case 'HEALTHCHECK': {
          const prev = used.get(c.kind);
          if (prev) {
            warn(
              lintRules.MultipleInstructionsDisallowed,
              `Multiple ${c.word} instructions should not be used in the same stage because only the last one will be used`,
              prev,
            );
          }
          used.set(c.kind, c.location);
          if (c.kind !== 'HEALTHCHECK' && c.prependShell && !shellSet) {
            warn(
              lintRules.JSONArgsRecommended,
              `JSON arguments recommended for ${c.word} to prevent unintended behavior related to OS signals`,
              c.location,
            );
          }
          break;
        }
        case 'EXPOSE':
          for (const port of c.ports) {
            const slash = port.indexOf('/');
            if (slash >= 0 && port.slice(slash + 1) !== port.slice(slash + 1).toLowerCase()) {
              warn(
                lintRules.ExposeProtoCasing,
                `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
                c.location,
              );
            }
          }
          break;
      }
    }
    ends.set(p.index, { scope: r.end, workdirSet, shellSet, scratch: scratchRooted });
  }

  function secretCheck(instruction: string, key: string, location: SourceRange) {
    if (secretDeny.test(key) && !secretAllow.test(key)) {
      warn(
        lintRules.SecretsUsedInArgOrEnv,
        `Do not use ARG or ENV instructions for sensitive data (${instruction} "${key}")`,
        location,
      );
    }
  }

  return out;
}

function checkFrom(
  df: Dockerfile,
  plan: BuildPlan,
  warn: (r: LintRule, message: string, location: SourceRange) => void,
): void {
  const known = new Set<string>([...plan.globalArgs.keys(), ...plan.metaArgs.keys()]);
  // base names with the global ARGs' defaults only (no build-args)
  const defaults = new Map<string, string>();
  for (const [k, v] of plan.globalArgs) if (!plan.metaArgs.has(k)) defaults.set(k, v);
  for (const cmd of df.metaArgs) {
    for (const a of cmd.args) {
      if (a.value === undefined) continue;
      try {
        defaults.set(a.key, plan.lex.processWord(a.value, defaults).result);
      } catch {
        // reported as an error by planBuild
      }
    }
  }
  const stageNames = new Set(plan.stages.map((s) => s.stage.name).filter((n) => n !== ''));
  for (const p of plan.stages) {
    const f = p.stage.from;
    for (const word of [f.baseName, f.platform]) {
      if (word === '') continue;
      const r = plan.lex.processWord(word, plan.globalArgs);
      for (const u of r.unmatched) {
        if (known.has(u)) continue;
        const close = suggest(u, [...known], true);
        warn(
          lintRules.UndefinedArgInFrom,
          `FROM argument '${u}' is not declared${close ? ` (did you mean ${close}?)` : ''}`,
          f.location,
        );
      }
    }
    const withDefaults = plan.lex.processWord(f.baseName, defaults).result;
    let invalid = withDefaults === '';
    if (!invalid && !stageNames.has(withDefaults) && withDefaults !== 'scratch') {
      try {
        parseReference(withDefaults);
      } catch {
        invalid = true;
      }
    }
    if (invalid) {
      warn(
        lintRules.InvalidDefaultArgInFrom,
        `Default value for ARG ${f.baseName} results in empty or invalid base image name`,
        f.location,
      );
    }
    if (f.platform !== '') {
      const r = plan.lex.processWord(f.platform, plan.globalArgs);
      if (r.matched.size === 1 && r.unmatched.size === 0 && r.matched.has('TARGETPLATFORM')) {
        if (r.result === plan.globalArgs.get('TARGETPLATFORM')) {
          warn(
            lintRules.RedundantTargetPlatform,
            `Setting platform to predefined ${f.platform} in FROM is redundant as this is the default behavior`,
            f.location,
          );
        }
      }
      if (r.matched.size === 0 && r.unmatched.size === 0) {
        let os = '';
        let arch = '';
        try {
          const pl = parsePlatform(r.result, plan.buildPlatform);
          os = pl.os;
          arch = pl.architecture;
        } catch {
          // an invalid platform is an error elsewhere
        }
        if (!(os && p.stage.name.includes(os)) && !(arch && p.stage.name.includes(arch))) {
          warn(
            lintRules.FromPlatformFlagConstDisallowed,
            `FROM --platform flag should not use constant value "${r.result}"`,
            f.location,
          );
        }
      }
    }
  }
}

/** `--call check` as buildx prints it. */
export function formatLintResults(df: Dockerfile, warnings: readonly LintWarning[]): string {
  if (warnings.length === 0) return 'Check complete, no warnings found.\n';
  let out =
    warnings.length === 1
      ? 'Check complete, 1 warning has been found!\n'
      : `Check complete, ${warnings.length} warnings have been found!\n`;
  const sorted = [...warnings].sort(
    (a, b) =>
      (a.rule.name < b.rule.name ? -1 : a.rule.name > b.rule.name ? 1 : 0) ||
      a.location.startLine - b.location.startLine,
  );
  for (const w of sorted) {
    out += `\nWARNING: ${w.rule.name}${w.rule.url ? ` - ${w.rule.url}` : ''}\n${w.message}\n`;
    out += formatExcerpt(df.file, df.lines, w.location.startLine, w.location.endLine);
  }
  return out;
}
