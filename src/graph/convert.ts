/**
 * graph/convert — a Dockerfile for one target platform → the build graph and the image config
 * (BuildKit's dockerfile2llb). Each stage is walked instruction by instruction: RUN becomes an
 * exec op, COPY/ADD and WORKDIR file ops, the rest change the image config; every instruction
 * adds its history entry with BuildKit's wording.
 *
 * Ops that mean the same thing get equal definitions, so the steps of a
 * `FROM --platform=$BUILDPLATFORM` stage are the same vertices for every target and run once.
 * Progress names follow BuildKit: `[linux/amd64->arm64 builder 6/6] RUN go build -o hello .`.
 *
 * Base images are resolved through the injected `resolveImage` (registry or local store);
 * nothing else here does I/O.
 */

import { cleanPath } from '../context/patternmatcher.js';
import {
  type Command,
  type Dockerfile,
  dispatchScope,
  errorAt,
  imageScope,
  type PlannedStage,
  parseDockerfile,
  parseInstruction,
  planBuild,
  proxyBuildArgs,
  runMounts,
  type Scope,
  type SourceRange,
  stepName,
} from '../dockerfile/index.js';
import type { Mount } from '../dockerfile/instructions/mount.js';
import { goQuoteList } from '../dockerfile/shell/quote.js';
import { DockerfileError } from '../errors.js';
import { normalizeDest } from '../fileop/paths.js';
import type { Digest } from '../oci/digest.js';
import type { ContainerConfig, Descriptor, History, ImageConfig, Platform } from '../oci/types.js';
import { formatPlatform, normalizePlatform, parsePlatform } from '../platforms/index.js';
import { familiarString, parseReference } from '../reference/index.js';
import type { CopyAction, ExecMount, FileOp, InlineFile, NetworkMode, Vertex } from './ops.js';

/** A base image resolved for a platform: what `load metadata for …` finds. */
export interface ResolvedImage {
  /** the reference pinned to the manifest, `localhost:5000/busybox:1.35@sha256:…` */
  pinned: string;
  /** the platform's image manifest */
  manifest: Descriptor;
  config: ImageConfig;
  origin: 'registry' | 'local';
}

/** A `--build-context name=…`: an image instead of the one named, or a local directory. */
export type NamedContext = { kind: 'image'; ref: string } | { kind: 'local'; vertex: Vertex };

/**
 * The key a named context is looked up by, as BuildKit's dockerui does: the familiar name
 * without `:latest` (`FROM alpine` and `FROM docker.io/library/alpine:latest` both find
 * `alpine`; a stage name is its own key).
 */
export function namedContextKey(name: string): string {
  try {
    return familiarString(parseReference(name)).replace(/:latest$/, '');
  } catch {
    return name;
  }
}

export interface ConvertOptions {
  dockerfile: Dockerfile;
  targetPlatform: Platform;
  buildPlatform: Platform;
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  /** several target platforms: step names carry the platform */
  multiPlatform: boolean;
  /** the build context, shared by all platforms */
  context: Vertex;
  resolveImage: (ref: string, platform: Platform) => Promise<ResolvedImage>;
  network: NetworkMode;
  extraHosts: string[];
  /** `--label` */
  labels: Record<string, string>;
  /** `--build-context`, keyed by `namedContextKey` */
  namedContexts?: ReadonlyMap<string, NamedContext>;
}

/** An entry of the image history and, when it may add a layer, the step that makes it. */
export interface HistoryStep {
  entry: History;
  /** the vertex whose result has this entry's layer on top (RUN, COPY, ADD, WORKDIR) */
  step?: Vertex;
}

export interface ConvertResult {
  /** the target stage's filesystem */
  vertex: Vertex;
  /** the image config without rootfs (layers are known after solving) */
  image: Omit<ImageConfig, 'rootfs' | 'history'>;
  history: HistoryStep[];
  /** the platform the image is for (the target's, whatever platform its last stage ran on) */
  platform: Platform;
}

interface StageState {
  vertex: Vertex;
  config: ContainerConfig;
  history: HistoryStep[];
  platform: Platform;
  scope: Scope;
  author?: string;
  /** ONBUILD triggers this stage registered (for stages built FROM it) */
  onbuild: string[];
}

const historyComment = 'buildkit.dockerfile.v0';
const defaultShell = ['/bin/sh', '-c'];

export const scratchVertex: Vertex = { op: { type: 'scratch' }, inputs: [], name: 'scratch', hidden: true };

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Go's `%v` of a []string: `[a b]`. */
function goList(xs: readonly string[]): string {
  return `[${xs.join(' ')}]`;
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** BuildKit's NormalizeWorkdir: relative paths join the current one; the result is clean and absolute. */
export function normalizeWorkdir(current: string, requested: string): string {
  if (requested === '') return current || '/';
  const joined = requested.startsWith('/') ? requested : `${current || '/'}/${requested}`;
  return cleanPath(joined);
}

/** `->arm64` when a stage builds for a target other than its own platform (formatTargetPlatform). */
function targetSuffix(base: Platform, vars: ReadonlyMap<string, string>): string {
  let target: Platform | undefined;
  if (vars.has('TARGETPLATFORM')) {
    try {
      target = parsePlatform(vars.get('TARGETPLATFORM')!, base);
    } catch {
      target = undefined;
    }
  }
  if (!target && (vars.has('TARGETOS') || vars.has('TARGETARCH') || vars.has('TARGETVARIANT'))) {
    target = {
      os: vars.get('TARGETOS') || base.os,
      architecture: vars.get('TARGETARCH') || base.architecture,
      ...(vars.get('TARGETVARIANT') ? { variant: vars.get('TARGETVARIANT')! } : {}),
    };
  }
  if (!target) return '';
  const p = normalizePlatform(target);
  const b = normalizePlatform(base);
  if (p.os === b.os && p.architecture !== b.architecture) {
    return `->${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  }
  if (p.os !== b.os) return `->${formatPlatform(p)}`;
  return '';
}

class StageNamer {
  #index = 0;
  constructor(
    private readonly multiPlatform: boolean,
    private readonly displayName: string,
    private readonly total: number,
    private readonly platform: Platform,
  ) {}
  /** BuildKit's prefixCommand. */
  name(text: string, vars: ReadonlyMap<string, string>, onbuild = false): string {
    if (this.total === 0) return text;
    let out = '[';
    if (this.multiPlatform) out += `${formatPlatform(this.platform)}${targetSuffix(this.platform, vars)} `;
    if (this.displayName) out += `${this.displayName} `;
    this.#index++;
    const width = 1 + Math.floor(Math.log10(this.total));
    out += `${String(this.#index).padStart(width)}/${this.total}] `;
    if (onbuild) out += 'ONBUILD ';
    return out + text;
  }
}

function countSteps(commands: readonly Command[]): number {
  return commands.filter(
    (c) => c.kind === 'ADD' || c.kind === 'COPY' || c.kind === 'RUN' || c.kind === 'WORKDIR',
  ).length;
}

/** The proxy build args given on the command line that no ARG in scope declared. */
function proxyEnvOf(buildArgs: ReadonlyMap<string, string>, vars: ReadonlyMap<string, string>): string[] {
  return proxyBuildArgs
    .filter((k) => buildArgs.has(k) && !vars.has(k))
    .map((k) => `${k}=${buildArgs.get(k)}`);
}

function historyEntry(createdBy: string, withLayer: boolean, viaBuildkit: boolean): History {
  return {
    created_by: viaBuildkit ? `${createdBy} # buildkit` : createdBy,
    comment: historyComment,
    ...(withLayer ? {} : { empty_layer: true }),
  };
}

/** runCommandString: `|2 A=1 B=2 /bin/sh -c …` when the stage declared ARGs. */
function runCommandString(args: readonly string[], scope: Scope): string {
  const seen = new Map<string, string>();
  for (const a of scope.args) {
    const v = scope.vars.get(a.key) ?? a.value ?? '';
    seen.set(a.key, v);
  }
  const prefix = seen.size > 0 ? [`|${seen.size}`, ...[...seen].map(([k, v]) => `${k}=${v}`)] : [];
  return [...prefix, ...args].join(' ');
}

/** ONBUILD trigger text → commands (BuildKit parses each trigger as a one-line Dockerfile). */
function parseTriggers(
  df: Dockerfile,
  triggers: readonly string[],
  at: { startLine: number; endLine: number },
): Command[] {
  return triggers.map((t) => {
    const r = parseDockerfile(t, { file: df.file });
    if (r.ast.children.length !== 1) {
      throw new DockerfileError(
        { file: df.file, line: at.startLine, column: 1 },
        'onbuild trigger should be a single expression',
      );
    }
    const node = r.ast.children[0]!;
    const ins = parseInstruction(node, { file: df.file, lines: df.lines, escapeToken: df.escapeToken });
    if (ins.kind === 'FROM') {
      throw new DockerfileError(
        { file: df.file, line: at.startLine, column: 1 },
        "FROM isn't allowed as an ONBUILD trigger",
      );
    }
    return { ...ins, location: at } as Command;
  });
}

function locationOf(df: Dockerfile, loc: { startLine: number; endLine: number }) {
  return { file: df.file, startLine: loc.startLine, endLine: loc.endLine };
}

const portRe = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;

/** nat.ParsePortSpecs for EXPOSE: `80`, `80/udp`, `8000-8002/tcp`. */
function exposedPorts(ports: readonly string[], df: Dockerfile, loc: SourceRange): string[] {
  const out: string[] = [];
  for (const p of ports) {
    const m = portRe.exec(p);
    if (!m) throw errorAt(df, loc, `invalid containerPort: ${p}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    const start = Number(m[1]);
    const end = m[2] ? Number(m[2]) : start;
    if (end < start) throw errorAt(df, loc, `invalid range specified for container port: ${p}`);
    for (let x = start; x <= end; x++) out.push(`${x}/${proto}`);
  }
  return out;
}

/** Go's map formatting of exposed ports: `map[53/udp:{} 80/tcp:{}]`, keys sorted. */
function goPortMap(ports: readonly string[]): string {
  return `map[${[...new Set(ports)]
    .sort()
    .map((p) => `${p}:{}`)
    .join(' ')}]`;
}

const healthTimes = (h: { interval: number; timeout: number; startPeriod: number; startInterval: number }) =>
  [h.interval, h.timeout, h.startPeriod, h.startInterval].map((n) => `%!q(time.Duration=${n})`).join(' ');

/**
 * Converts the Dockerfile for one target platform. `resolveImage` is called for every base
 * image and `COPY --from`/`--mount from=` image the target needs.
 */
export async function convertDockerfile(opts: ConvertOptions): Promise<ConvertResult> {
  const df = opts.dockerfile;
  const plan = planBuild(df, {
    buildArgs: opts.buildArgs,
    targetPlatform: opts.targetPlatform,
    buildPlatform: opts.buildPlatform,
    ...(opts.target ? { target: opts.target } : {}),
  });
  const states = new Map<number, StageState>();
  const imageVertices = new Map<string, { vertex: Vertex; resolved: ResolvedImage }>();

  const named = (name: string): NamedContext | undefined => opts.namedContexts?.get(namedContextKey(name));
  const imageSource = async (wanted: string, platform: Platform, name?: (r: ResolvedImage) => string) => {
    const nc = named(wanted);
    const ref = nc?.kind === 'image' ? nc.ref : wanted;
    const key = `${ref}\u0000${formatPlatform(platform)}`;
    let hit = imageVertices.get(key);
    if (!hit) {
      const resolved = await opts.resolveImage(ref, platform);
      const isScratch = resolved.config.rootfs.diff_ids.length === 0;
      const vertex: Vertex = isScratch
        ? scratchVertex
        : {
            op: {
              type: 'image',
              ref: resolved.pinned,
              manifest: resolved.manifest,
              platform: normalizePlatform(platform),
              origin: resolved.origin,
            },
            inputs: [],
            name: name ? name(resolved) : `FROM ${resolved.pinned}`,
          };
      hit = { vertex, resolved };
      imageVertices.set(key, hit);
    }
    return hit;
  };

  /** The filesystem a COPY --from / --mount from= reads. */
  const sourceVertex = async (planned: PlannedStage, cmdIndex: number, which = 0): Promise<Vertex> => {
    const src = planned.sources.get(cmdIndex)?.[which];
    if (!src) return opts.context;
    if (src.kind === 'stage') {
      const st = states.get(src.index);
      if (!st) throw new Error(`stage ${src.index} was not converted before stage ${planned.index}`);
      return st.vertex;
    }
    const nc = named(src.ref);
    if (nc?.kind === 'local') return nc.vertex;
    return (await imageSource(src.ref, opts.targetPlatform)).vertex;
  };

  /** A local named context as a stage's filesystem: its files copied onto scratch. */
  const localRootfs = (dir: Vertex, platform: Platform, name: string): Vertex => ({
    op: {
      type: 'file',
      actions: [
        {
          action: 'copy',
          input: 1,
          sources: ['.'],
          dest: '/',
          workdir: '/',
          followSymlinks: true,
          unpack: false,
          allowURL: false,
          link: false,
        },
      ],
      platform,
    },
    inputs: [scratchVertex, dir],
    name,
  });

  for (const planned of plan.needed) {
    const stage = planned.stage;
    const from = stage.from;
    const stagePlatform = normalizePlatform(planned.platform ?? opts.targetPlatform);
    const replacement = stage.name ? named(stage.name) : undefined;
    if (replacement) {
      // --build-context NAME=… replaces the stage NAME: its instructions are not run
      const label = `[${opts.multiPlatform ? `${formatPlatform(stagePlatform)} ` : ''}context ${stage.name}]`;
      if (replacement.kind === 'local') {
        states.set(planned.index, {
          vertex: { ...localRootfs(replacement.vertex, stagePlatform, `${label} copy`), hidden: true },
          config: {},
          history: [],
          platform: stagePlatform,
          scope: imageScope([]),
          onbuild: [],
        });
      } else {
        const src = await imageSource(stage.name, stagePlatform, (r) => `${label} FROM ${r.pinned}`);
        const cfg = src.resolved.config;
        const config = clone(cfg.config ?? {});
        delete config.OnBuild;
        states.set(planned.index, {
          vertex: src.vertex,
          config,
          history: (cfg.history ?? []).map((h) => ({ entry: h })),
          platform: stagePlatform,
          scope: imageScope(config.Env ?? []),
          onbuild: [],
        });
      }
      continue;
    }
    let state: StageState;
    let triggers: string[] = [];
    const fromBaseImage = planned.base.kind === 'image';
    const baseState = planned.base.kind === 'stage' ? states.get(planned.base.index) : undefined;

    if (baseState) {
      triggers = baseState.onbuild;
      state = {
        vertex: baseState.vertex,
        config: clone(baseState.config),
        history: [...baseState.history],
        platform: baseState.platform,
        scope: { vars: new Map(baseState.scope.vars), args: [...baseState.scope.args] },
        onbuild: [],
        ...(baseState.author ? { author: baseState.author } : {}),
      };
      // the base stage's triggers run here and are not passed on (BuildKit clears OnBuild)
      delete state.config.OnBuild;
    } else {
      state = {
        vertex: scratchVertex,
        config: {},
        history: [],
        platform: stagePlatform,
        scope: imageScope([]),
        onbuild: [],
      };
    }
    // ONBUILD triggers of a base stage or a base image run first (their config is resolved
    // here already: the number of steps in the names depends on them)
    const localBase = planned.base.kind === 'image' ? named(planned.base.ref) : undefined;
    if (planned.base.kind === 'image' && localBase?.kind !== 'local') {
      const nc = named(planned.base.ref);
      const base = await opts.resolveImage(nc?.kind === 'image' ? nc.ref : planned.base.ref, stagePlatform);
      triggers = base.config.config?.OnBuild ?? [];
    }
    const commands: Command[] = [...parseTriggers(df, triggers, from.location), ...stage.commands];
    const onbuildCount = triggers.length;
    const total = (fromBaseImage ? 1 : 0) + countSteps(commands);
    const namer = new StageNamer(opts.multiPlatform, planned.displayName, total, stagePlatform);
    const stageName = stage.name || `stage-${stage.index}`;

    if (localBase?.kind === 'local') {
      state.vertex = {
        ...localRootfs(localBase.vertex, stagePlatform, namer.name(`FROM ${planned.baseName}`, new Map())),
        location: locationOf(df, from.location),
      };
      state.platform = stagePlatform;
      state.scope = imageScope([]);
    } else if (planned.base.kind === 'image') {
      let fromName = '';
      const src = await imageSource(planned.base.ref, stagePlatform, (r) => {
        fromName = namer.name(`FROM ${r.pinned}`, new Map());
        return fromName;
      });
      // a vertex made earlier (another stage FROM the same image): the step still counts
      if (!fromName) namer.name('', new Map());
      const cfg = src.resolved.config;
      state.vertex =
        src.vertex === scratchVertex
          ? scratchVertex
          : { ...src.vertex, location: locationOf(df, from.location) };
      state.config = clone(cfg.config ?? {});
      state.history = (cfg.history ?? []).map((h) => ({ entry: h }));
      if (cfg.author) state.author = cfg.author;
      delete state.config.OnBuild;
      state.platform = stagePlatform;
      state.scope = imageScope(state.config.Env ?? []);
    } else if (planned.base.kind === 'scratch') {
      state.scope = imageScope([]);
    }
    if (!(state.config.Env ?? []).some((e) => e.startsWith('PATH='))) {
      state.config.Env = [...(state.config.Env ?? []), `PATH=${state.scope.vars.get('PATH')}`];
    }
    const walk = dispatchScope(plan, { ...planned, stage: { ...stage, commands } }, state.scope);
    let cmdSet = false;
    for (const [i, step] of walk.steps.entries()) {
      const cmd = step.command;
      const vars = step.scope.vars;
      const onbuild = i < onbuildCount;
      const loc = locationOf(df, cmd.location);
      const userIndex = i - onbuildCount;
      const name = () => namer.name(stepName(plan, cmd.original, vars), vars, onbuild);
      const cwd = state.config.WorkingDir || '/';
      switch (cmd.kind) {
        case 'RUN': {
          let args = cmd.cmdLine;
          const extraMounts: ExecMount[] = [];
          let label = stepName(plan, cmd.original, vars);
          if (cmd.files.length > 0) {
            const first = cmd.files[0]!;
            const single = args.length === 1 && /^<<-?(["']?)([^"'\s]+)\1$/.test(args[0]!.trim());
            if (single) {
              let data = first.data;
              if (first.chomp) data = data.replace(/^\t+/gm, '');
              if (data.startsWith('#!')) {
                extraMounts.push({
                  type: 'files',
                  target: '/dev/pipes/',
                  files: [{ name: first.name, data, mode: 0o755 }],
                });
                args = [`/dev/pipes/${first.name}`];
              } else {
                args = [data];
              }
              label += ` (${summarizeHeredoc(first.data)})`;
            } else {
              let full = args[0] ?? '';
              for (const f of cmd.files) full += `\n${f.data}${f.name}`;
              args = [full];
            }
          }
          if (cmd.prependShell)
            args = [...(state.config.Shell?.length ? state.config.Shell : defaultShell), args.join(' ')];
          const mounts: ExecMount[] = [];
          const inputs: Vertex[] = [state.vertex];
          let parsedMounts: Mount[];
          try {
            parsedMounts = runMounts(cmd, (w) => plan.lex.processWord(w, vars).result);
          } catch (err) {
            throw errorAt(df, cmd.location, (err as Error).message);
          }
          let fromIndex = 0;
          for (const m of parsedMounts) {
            const target = m.target.startsWith('/') ? cleanPath(m.target) : cleanPath(`${cwd}/${m.target}`);
            switch (m.type) {
              case 'bind': {
                const src =
                  m.from === '' ? opts.context : await sourceVertex(planned, userIndex, fromIndex++);
                inputs.push(src);
                mounts.push({
                  type: 'bind',
                  target,
                  input: inputs.length - 1,
                  source: cleanPath(`/${m.source || '/'}`),
                  readonly: m.readOnly,
                });
                break;
              }
              case 'cache': {
                let input: number | undefined;
                if (m.from !== '') {
                  inputs.push(await sourceVertex(planned, userIndex, fromIndex++));
                  input = inputs.length - 1;
                }
                mounts.push({
                  type: 'cache',
                  target,
                  id: m.id || target,
                  sharing: (m.sharing || 'shared') as 'shared' | 'private' | 'locked',
                  readonly: m.readOnly,
                  ...(input !== undefined ? { input, source: cleanPath(`/${m.source || '/'}`) } : {}),
                  ...(m.mode !== undefined ? { mode: m.mode } : {}),
                  ...(m.uid !== undefined ? { uid: m.uid } : {}),
                  ...(m.gid !== undefined ? { gid: m.gid } : {}),
                });
                break;
              }
              case 'tmpfs':
                mounts.push({ type: 'tmpfs', target, ...(m.sizeLimit ? { size: m.sizeLimit } : {}) });
                break;
              case 'secret': {
                const id = m.id || m.target.split('/').pop() || '';
                const secretTarget = m.target ? target : `/run/secrets/${id}`;
                mounts.push({
                  type: 'secret',
                  target: secretTarget,
                  id,
                  required: m.required,
                  mode: m.mode ?? 0o400,
                  uid: m.uid ?? 0,
                  gid: m.gid ?? 0,
                  ...(m.env ? { env: m.env } : {}),
                });
                break;
              }
              case 'ssh':
                mounts.push({
                  type: 'ssh',
                  target: m.target ? target : '/run/buildkit/ssh_agent.0',
                  id: m.id || 'default',
                  required: m.required,
                  mode: m.mode ?? 0o600,
                  uid: m.uid ?? 0,
                  gid: m.gid ?? 0,
                });
                break;
            }
          }
          mounts.push(...extraMounts);
          const env = [...vars].map(([k, v]) => `${k}=${v}`);
          const proxyEnv = proxyEnvOf(opts.buildArgs, vars);
          const vertex: Vertex = {
            op: {
              type: 'exec',
              args,
              env,
              ...(proxyEnv.length ? { proxyEnv } : {}),
              cwd,
              user: state.config.User ?? '',
              network: cmd.network === 'default' ? opts.network : cmd.network,
              security: cmd.security,
              mounts,
              platform: state.platform,
              ...(opts.extraHosts.length ? { extraHosts: opts.extraHosts } : {}),
            },
            inputs,
            name: namer.name(label, vars, onbuild),
            location: loc,
            stage: stageName,
          };
          state.vertex = vertex;
          state.history.push({
            entry: historyEntry(`RUN ${runCommandString(args, step.scope)}`, true, true),
            step: vertex,
          });
          break;
        }
        case 'COPY':
        case 'ADD': {
          const isAdd = cmd.kind === 'ADD';
          if (isAdd && cmd.checksum && cmd.sources.length !== 1) {
            throw errorAt(df, cmd.location, "checksum can't be specified for multiple sources");
          }
          const dest = normalizeDest(cwd, cmd.dest);
          if (cmd.chmod && /^[0-7]+$/.test(cmd.chmod) && Number.parseInt(cmd.chmod, 8) > 0o7777) {
            throw errorAt(
              df,
              cmd.location,
              `invalid chmod parameter: '${cmd.chmod}'. it should be octal string and between 0 and 07777`,
            );
          }
          const inputs: Vertex[] = [state.vertex];
          const actions: CopyAction[] = [];
          const common = {
            dest,
            workdir: cwd,
            ...(cmd.chown ? { chown: cmd.chown } : {}),
            ...(cmd.chmod ? { chmod: cmd.chmod } : {}),
            ...(cmd.exclude.length ? { exclude: cmd.exclude } : {}),
            link: cmd.link,
          };
          if (cmd.sources.length > 0) {
            const src =
              cmd.kind === 'COPY' && cmd.from !== '' ? await sourceVertex(planned, userIndex) : opts.context;
            inputs.push(src);
            actions.push({
              action: 'copy',
              input: 1,
              sources: cmd.sources,
              followSymlinks: true,
              unpack: isAdd && (cmd as { unpack?: boolean }).unpack !== false,
              allowURL: isAdd,
              ...(isAdd && cmd.checksum ? { checksum: cmd.checksum } : {}),
              ...(cmd.kind === 'COPY' && cmd.parents ? { parents: true } : {}),
              ...common,
            });
          }
          if (cmd.sourceContents.length > 0) {
            const files: InlineFile[] = cmd.sourceContents.map((c) => ({
              name: c.path,
              data: c.expand ? plan.lex.processWord(c.data, vars).result : c.data,
              mode: 0o644,
            }));
            actions.push({
              action: 'copy',
              input: -1,
              inline: files,
              sources: files.map((f) => f.name),
              followSymlinks: true,
              unpack: false,
              allowURL: false,
              ...common,
            });
          }
          const op: FileOp = { type: 'file', actions, platform: state.platform };
          const vertex: Vertex = { op, inputs, name: name(), location: loc, stage: stageName };
          state.vertex = vertex;
          let msg = isAdd ? 'ADD' : 'COPY';
          if (cmd.kind === 'COPY' && cmd.parents) msg += ' --parents';
          if (cmd.chown) msg += ` --chown=${cmd.chown}`;
          if (cmd.chmod) msg += ` --chmod=${cmd.chmod}`;
          for (const s of cmd.sources) msg += ` ${s}`;
          for (const s of cmd.sourceContents) msg += ` <<${s.path}`;
          msg += ` ${cmd.dest}`;
          state.history.push({ entry: historyEntry(msg, true, true), step: vertex });
          break;
        }
        case 'WORKDIR': {
          const wd = normalizeWorkdir(state.config.WorkingDir ?? '', cmd.path);
          state.config.WorkingDir = wd;
          if (wd !== '/') {
            const vertex: Vertex = {
              op: {
                type: 'file',
                actions: [
                  {
                    action: 'mkdir',
                    path: wd,
                    mode: 0o755,
                    parents: true,
                    ...(state.config.User ? { chown: state.config.User } : {}),
                  },
                ],
                platform: state.platform,
                keepEmpty: true,
              },
              inputs: [state.vertex],
              name: name(),
              location: loc,
              stage: stageName,
            };
            state.vertex = vertex;
            state.history.push({ entry: historyEntry(`WORKDIR ${wd}`, true, false), step: vertex });
          } else {
            state.history.push({ entry: historyEntry(`WORKDIR ${wd}`, false, false) });
          }
          break;
        }
        case 'ENV': {
          let env = state.config.Env ?? [];
          for (const e of cmd.env) env = setEnv(env, e.key, e.value);
          state.config.Env = env;
          state.history.push({
            entry: historyEntry(`ENV ${cmd.env.map((e) => `${e.key}=${e.value}`).join(' ')}`, false, false),
          });
          break;
        }
        case 'ARG':
          state.history.push({
            entry: historyEntry(
              `ARG ${cmd.args.map((a) => (a.value !== undefined ? `${a.key}=${a.value}` : a.key)).join(' ')}`,
              false,
              false,
            ),
          });
          break;
        case 'LABEL': {
          state.config.Labels = { ...(state.config.Labels ?? {}) };
          for (const l of cmd.labels) state.config.Labels[l.key] = l.value;
          state.history.push({
            entry: historyEntry(
              `LABEL ${cmd.labels.map((l) => `${l.key}=${l.value}`).join(' ')}`,
              false,
              false,
            ),
          });
          break;
        }
        case 'MAINTAINER':
          state.author = cmd.maintainer;
          state.history.push({ entry: historyEntry(`MAINTAINER ${cmd.maintainer}`, false, false) });
          break;
        case 'CMD': {
          const args = cmd.prependShell
            ? [...(state.config.Shell?.length ? state.config.Shell : defaultShell), cmd.cmdLine.join(' ')]
            : cmd.cmdLine;
          state.config.Cmd = args;
          state.config.ArgsEscaped = true;
          cmdSet = true;
          state.history.push({ entry: historyEntry(`CMD ${goQuoteList(args)}`, false, false) });
          break;
        }
        case 'ENTRYPOINT': {
          const args = cmd.prependShell
            ? [...(state.config.Shell?.length ? state.config.Shell : defaultShell), cmd.cmdLine.join(' ')]
            : cmd.cmdLine;
          state.config.Entrypoint = args;
          if (!cmdSet) state.config.Cmd = null;
          state.history.push({ entry: historyEntry(`ENTRYPOINT ${goQuoteList(args)}`, false, false) });
          break;
        }
        case 'EXPOSE': {
          const ports = exposedPorts(cmd.ports, df, cmd.location);
          state.config.ExposedPorts = { ...(state.config.ExposedPorts ?? {}) };
          for (const p of ports) state.config.ExposedPorts[p] = {};
          state.history.push({ entry: historyEntry(`EXPOSE ${goPortMap(ports)}`, false, false) });
          break;
        }
        case 'USER':
          state.config.User = cmd.user;
          state.history.push({ entry: historyEntry(`USER ${cmd.user}`, false, false) });
          break;
        case 'VOLUME': {
          state.config.Volumes = { ...(state.config.Volumes ?? {}) };
          for (const v of cmd.volumes) {
            if (v === '') throw errorAt(df, cmd.location, 'VOLUME specified can not be an empty string');
            state.config.Volumes[v] = {};
          }
          state.history.push({ entry: historyEntry(`VOLUME ${goList(cmd.volumes)}`, false, false) });
          break;
        }
        case 'STOPSIGNAL':
          if (!/^(SIG[A-Z0-9+-]+|\d+|[A-Z0-9+-]+)$/i.test(cmd.signal)) {
            throw errorAt(df, cmd.location, `invalid signal: ${cmd.signal}`);
          }
          state.config.StopSignal = cmd.signal;
          state.history.push({ entry: historyEntry(`STOPSIGNAL ${cmd.signal}`, false, false) });
          break;
        case 'HEALTHCHECK': {
          const h = cmd.health;
          state.config.Healthcheck = {
            Test: h.test,
            ...(h.interval ? { Interval: h.interval } : {}),
            ...(h.timeout ? { Timeout: h.timeout } : {}),
            ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
            ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
            ...(h.retries ? { Retries: h.retries } : {}),
          };
          state.history.push({
            entry: historyEntry(
              `HEALTHCHECK &{${goQuoteList(h.test)} ${healthTimes(h)} '\\x0${h.retries}'}`,
              false,
              false,
            ),
          });
          break;
        }
        case 'SHELL':
          state.config.Shell = cmd.shell;
          state.history.push({ entry: historyEntry(`SHELL ${goList(cmd.shell)}`, false, false) });
          break;
        case 'ONBUILD':
          state.onbuild.push(cmd.expression);
          state.config.OnBuild = [...(state.config.OnBuild ?? []), cmd.expression];
          break;
        default: {
          const never: never = cmd;
          throw new Error(`unhandled instruction ${(never as Command).kind}`);
        }
      }
    }
    state.scope = walk.end;
    states.set(planned.index, state);
  }

  const target = states.get(plan.target.index)!;
  const config = clone(target.config);
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

/** BuildKit's summarizeHeredoc: the first line, cut at 32 characters, with `...` when more. */
function summarizeHeredoc(doc: string): string {
  const lines = doc.replace(/^\n+/, '').split('\n');
  let summary = lines[0] ?? '';
  const more = lines.filter((l) => l.trim() !== '').length > 1;
  if (summary.length > 32) summary = `${summary.slice(0, 32)}...`;
  else if (more) summary += '...';
  return summary;
}

export type { Digest };
