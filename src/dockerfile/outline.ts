/**
 * dockerfile/outline — the `--call targets` and `--call outline` subrequests (BuildKit's
 * ListTargets and Dockerfile2Outline, and the text printers buildx uses for them).
 *
 * targets: every stage, its description (`# name description` above its FROM) and which one
 * is the default. outline: the build args the target uses (global ARGs read by FROM lines,
 * with what they depend on, and every ARG of the stages it needs), their values after
 * `--build-arg`, descriptions (`# NAME description` above the ARG), and the secrets and SSH
 * sockets its RUN mounts ask for.
 */
import { DockerfileError } from '../errors.js';
import { tabwrite } from '../tabwriter.js';
import { parseMount } from './instructions/mount.js';
import type { Dockerfile, SourceRange } from './instructions/types.js';
import { type BuildPlan, dispatchScope, imageScope, type PlannedStage, type Scope } from './stages.js';

export interface TargetInfo {
  name: string;
  default: boolean;
  description: string;
  /** FROM's image or stage as written */
  base: string;
  /** FROM --platform as written */
  platform: string;
  location: SourceRange;
}

/** Every stage of the Dockerfile, the last one the default. */
export function listTargets(df: Dockerfile): TargetInfo[] {
  return df.stages.map((s, i) => ({
    name: s.name,
    default: i === df.stages.length - 1,
    description: s.description,
    base: s.from.baseName,
    platform: s.from.platform,
    location: s.from.location,
  }));
}

export interface OutlineArg {
  name: string;
  value: string;
  description: string;
  location: SourceRange;
}

export interface OutlineSecret {
  name: string;
  required: boolean;
  location: SourceRange;
}

export interface Outline {
  /** the target stage's name ('' for an unnamed default target) */
  name: string;
  description: string;
  args: OutlineArg[];
  secrets: OutlineSecret[];
  ssh: OutlineSecret[];
}

interface ArgEntry {
  name: string;
  value: string;
  description: string;
  deps: Set<string>;
  location: SourceRange;
}

interface StageOutline {
  allArgs: Map<string, ArgEntry>;
  usedArgs: Set<string>;
  secrets: Map<string, OutlineSecret>;
  ssh: Map<string, OutlineSecret>;
}

/** The parameters the plan's target takes (BuildKit's Outline). */
export function buildOutline(plan: BuildPlan): Outline {
  const df = plan.dockerfile;
  const meta = new Map<string, ArgEntry>();
  for (const [k, info] of plan.metaArgs) {
    meta.set(k, {
      name: info.definition.key,
      value: info.value,
      description: info.definition.comment,
      deps: info.deps,
      location: info.location,
    });
  }
  const outlines = new Map<number, StageOutline>();
  const ends = new Map<number, Scope>();
  for (const p of plan.needed) {
    const o: StageOutline = {
      allArgs: new Map(meta),
      usedArgs: new Set(p.usedGlobalArgs),
      secrets: new Map(),
      ssh: new Map(),
    };
    outlines.set(p.index, o);
    const start = p.base.kind === 'stage' ? ends.get(p.base.index)! : imageScope();
    const result = dispatchScope(plan, p, start, { expandCommands: false });
    ends.set(p.index, result.end);
    for (const a of result.declaredArgs) {
      if (!a.inherited) {
        o.allArgs.set(a.definition.key, {
          name: a.definition.key,
          value: a.value ?? '',
          description: a.definition.comment,
          deps: new Set(),
          location: a.location,
        });
      }
      o.usedArgs.add(a.definition.key);
    }
    for (const step of result.steps) {
      if (step.command.kind !== 'RUN') continue;
      for (const raw of step.command.mounts) {
        let m: ReturnType<typeof parseMount>;
        try {
          m = parseMount(raw, (w) => plan.lex.processWord(w, step.scope.vars).result);
        } catch (err) {
          const loc = step.command.location;
          throw new DockerfileError(
            { file: df.file, line: loc.startLine, column: 1 },
            (err as Error).message,
            {
              cause: err,
            },
          );
        }
        if (m.type === 'secret') {
          const id =
            m.source !== '' ? m.source : m.id !== '' ? m.id : m.target.split('/').pop() || (m.env ?? '');
          const prev = o.secrets.get(id);
          o.secrets.set(id, {
            name: id,
            required: m.required || (prev?.required ?? false),
            location: prev?.location ?? step.command.location,
          });
        } else if (m.type === 'ssh') {
          const id = m.id || 'default';
          const prev = o.ssh.get(id);
          o.ssh.set(id, {
            name: id,
            required: m.required || (prev?.required ?? false),
            location: prev?.location ?? step.command.location,
          });
        }
      }
    }
  }

  const byIndex = new Map(plan.stages.map((s) => [s.index, s]));
  const visitedArgs = new Set<string>();
  const visitedSecrets = new Set<string>();
  const visitedSSH = new Set<string>();
  const seenStages = new Set<number>();
  const args: OutlineArg[] = [];
  const secrets: OutlineSecret[] = [];
  const ssh: OutlineSecret[] = [];
  const walk = (p: PlannedStage) => {
    if (seenStages.has(p.index)) return;
    seenStages.add(p.index);
    const o = outlines.get(p.index)!;
    const markAllUsed = (keys: readonly string[]) => {
      for (const k of keys) {
        const a = o.allArgs.get(k);
        if (a) markAllUsed([...a.deps]);
        o.usedArgs.add(k);
      }
    };
    markAllUsed([...o.usedArgs]);
    for (const k of o.usedArgs) {
      const a = o.allArgs.get(k);
      if (a && !visitedArgs.has(k)) {
        args.push({ name: a.name, value: a.value, description: a.description, location: a.location });
        visitedArgs.add(k);
      }
    }
    for (const [k, s] of o.secrets) {
      if (!visitedSecrets.has(k)) {
        secrets.push(s);
        visitedSecrets.add(k);
      }
    }
    for (const [k, s] of o.ssh) {
      if (!visitedSSH.has(k)) {
        ssh.push(s);
        visitedSSH.add(k);
      }
    }
    if (p.base.kind === 'stage') walk(byIndex.get(p.base.index)!);
    for (const d of p.deps) walk(byIndex.get(d)!);
  };
  walk(plan.target);
  const byLine = <T extends { location: SourceRange }>(a: T, b: T) =>
    a.location.startLine - b.location.startLine;
  return {
    name: plan.target.stage.name,
    description: plan.target.stage.description,
    args: args.sort(byLine),
    secrets: secrets.sort(byLine),
    ssh: ssh.sort(byLine),
  };
}

/** Rows laid out as Go's tabwriter does (what buildx prints these tables with). */
function tabulate(rows: readonly (readonly string[])[], padding: number): string {
  return tabwrite(rows.map((r) => `${r.join('\t')}\n`).join(''), { padding });
}

/** `--call targets` as buildx prints it. */
export function formatTargets(targets: readonly TargetInfo[]): string {
  const rows = [['TARGET', 'DESCRIPTION']];
  for (const t of targets) {
    let name = t.name;
    if (name === '' && t.default) name = '(default)';
    else if (t.default) name = `${name} (default)`;
    rows.push([name, t.description]);
  }
  return tabulate(rows, 1);
}

/** `--call outline` as buildx prints it. */
export function formatOutline(o: Outline): string {
  let out = '';
  if (o.name !== '' || o.description !== '') {
    const rows = [['TARGET:', o.name === '' ? '(default)' : o.name]];
    if (o.description !== '') rows.push(['DESCRIPTION:', o.description]);
    out += `${tabulate(rows, 1)}\n`;
  }
  if (o.args.length > 0) {
    out += `${tabulate([['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...o.args.map((a) => [a.name, a.value, a.description])], 3)}\n`;
  }
  if (o.secrets.length > 0) {
    out += `${tabulate([['SECRET', 'REQUIRED'], ...o.secrets.map((s) => [s.name, s.required ? 'true' : ''])], 3)}\n`;
  }
  if (o.ssh.length > 0) {
    out += `${tabulate([['SSH', 'REQUIRED'], ...o.ssh.map((s) => [s.name, s.required ? 'true' : ''])], 3)}\n`;
  }
  return out;
}

const pbLocation = (r: SourceRange) => ({
  ranges: [{ start: { line: r.startLine }, end: { line: r.endLine } }],
});

/** `--call targets,format=json`: BuildKit's targets.List. */
export function targetsJSON(targets: readonly TargetInfo[], source: string): string {
  const list = {
    Targets: targets.map((t) => ({
      ...(t.name ? { name: t.name } : {}),
      ...(t.default ? { default: true } : {}),
      ...(t.description ? { description: t.description } : {}),
      ...(t.base ? { base: t.base } : {}),
      ...(t.platform ? { platform: t.platform } : {}),
      Location: pbLocation(t.location),
    })),
    Sources: [Buffer.from(source).toString('base64')],
  };
  return JSON.stringify(list, null, 2);
}

/** `--call outline,format=json`: BuildKit's outline.Outline. */
export function outlineJSON(o: Outline, source: string): string {
  const out = {
    ...(o.name ? { name: o.name } : {}),
    ...(o.description ? { description: o.description } : {}),
    ...(o.args.length
      ? {
          args: o.args.map((a) => ({
            Name: a.name,
            Description: a.description,
            Value: a.value,
            Location: pbLocation(a.location),
          })),
        }
      : {}),
    ...(o.secrets.length
      ? {
          secrets: o.secrets.map((s) => ({
            Name: s.name,
            Required: s.required,
            Location: pbLocation(s.location),
          })),
        }
      : {}),
    ...(o.ssh.length
      ? { ssh: o.ssh.map((s) => ({ Name: s.name, Required: s.required, Location: pbLocation(s.location) })) }
      : {}),
    sources: [Buffer.from(source).toString('base64')],
  };
  return JSON.stringify(out, null, 2);
}
