/**
 * cli/build — `polyarch build [OPTIONS] PATH | URL | -` with buildx's flag set and help
 * wording. The flags are parsed and checked into a `BuildInvocation` (the library's
 * `BuildOptions` plus what the CLI reports); `--call` goes to `callBuild`, a build to
 * `runBuild`, and this module draws the progress and prints what buildx prints around it.
 */
import { resolve } from 'node:path';
import {
  type AttestSpec,
  type BuildOptions,
  type BuildResult,
  type CacheSpec,
  type CallSpec,
  type ExportSpec,
  type NetworkMode,
  parseAnnotation,
  runBuild,
  type SecretSpec,
  type SSHSpec,
  type Ulimit,
  writeBuildFiles,
} from '../api/build.js';
import {
  callBuild,
  formatLintResults,
  formatOutline,
  formatTargets,
  type LintWarning,
  outlineJSON,
  targetsJSON,
} from '../api/call.js';
import {
  createRenderer,
  type ProgressMode,
  progressModes,
  type StatusSink,
  type VertexWarning,
} from '../api/progress.js';
import { formatExcerpt } from '../dockerfile/index.js';
import { BuildError, InvalidArgumentError } from '../errors.js';
import { parseByteSize, parseGoBool } from '../goparse.js';
import { limitHeapGrowth } from '../heap.js';
import { detectHostPlatform } from '../platforms/host.js';
import { type Platform, parsePlatformList } from '../platforms/index.js';
import { type CommandContext, type CommandRun, type Flags, splitCSV, UsageError } from './command.js';

const bad = (message: string) => new InvalidArgumentError(message);

/** `k=v` list → map; a bare `k` takes the environment's value (build-args) or '' (labels). */
function listToMap(values: readonly string[], env: NodeJS.ProcessEnv | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const k = eq < 0 ? v : v.slice(0, eq);
    if (k === '') throw bad(`invalid key-value pair "${v}": empty key`);
    if (eq >= 0) out[k] = v.slice(eq + 1);
    else if (env === undefined) out[k] = '';
    else if (env[k] !== undefined) out[k] = env[k]!;
  }
  return out;
}

function fieldsOf(value: string, what: string): string[] {
  try {
    return splitCSV(value);
  } catch (err) {
    throw bad(`invalid ${what} "${value}": ${(err as Error).message}`);
  }
}

/** `-o` values as buildx's ParseExports. */
export function parseOutputs(values: readonly string[]): ExportSpec[] {
  const out: ExportSpec[] = [];
  for (const s of values) {
    if (s === '') continue;
    const fields = fieldsOf(s, 'output');
    if (fields.length === 1 && fields[0] === s && !s.startsWith('type=') && !s.includes('=')) {
      out.push(
        s === '-'
          ? { type: 'tar', destination: '-', attrs: {} }
          : { type: 'local', destination: s, attrs: {} },
      );
      continue;
    }
    const e: ExportSpec = { type: '', attrs: {} };
    for (const f of fields) {
      const eq = f.indexOf('=');
      if (eq < 0) throw bad(`invalid value ${f}`);
      const key = f.slice(0, eq).trim().toLowerCase();
      const value = f.slice(eq + 1);
      if (key === 'type') e.type = value;
      else e.attrs[key] = value;
    }
    if (e.type === '') throw bad('type is required for output');
    if (e.type === 'registry') {
      e.type = 'image';
      if (e.attrs.push === undefined) e.attrs.push = 'true';
    }
    if (e.attrs.dest !== undefined) {
      e.destination = e.attrs.dest;
      delete e.attrs.dest;
    }
    out.push(e);
  }
  return out;
}

/** `--load[=true|false|docker]`. */
export function parseLoad(value: string | undefined): boolean | 'docker' {
  if (value === undefined) return false;
  if (value === 'docker') return 'docker';
  const b = parseGoBool(value);
  if (b !== undefined) return b;
  throw bad(`invalid argument "${value}" for "--load" flag: expected true, false or docker`);
}

/** `--cache-from` / `--cache-to` values as buildx's ParseCacheEntry. */
function parseCacheSpecs(values: readonly string[]): CacheSpec[] {
  return values
    .filter((v) => v !== '')
    .map((s) => {
      const fields = fieldsOf(s, 'cache');
      if (fields.length === 1 && !fields[0]!.includes('='))
        return { type: 'registry', attrs: { ref: fields[0]! } };
      const c: CacheSpec = { type: '', attrs: {} };
      for (const f of fields) {
        const eq = f.indexOf('=');
        if (eq < 0) throw bad(`invalid value ${f}`);
        const key = f.slice(0, eq).toLowerCase();
        if (key === 'type') c.type = f.slice(eq + 1);
        else c.attrs[key] = f.slice(eq + 1);
      }
      if (c.type === '') throw bad(`type required form> ${s}`);
      return c;
    });
}

function parseSecrets(values: readonly string[]): SecretSpec[] {
  return values.map((s) => {
    let type = 'file';
    const spec: SecretSpec = { id: '' };
    for (const f of fieldsOf(s, 'secret')) {
      const eq = f.indexOf('=');
      if (eq < 0) throw bad(`invalid field '${f}' must be a key=value pair`);
      const key = f.slice(0, eq).toLowerCase();
      const value = f.slice(eq + 1);
      switch (key) {
        case 'type':
          if (value !== 'file' && value !== 'env') throw bad(`unsupported secret type "${value}"`);
          type = value;
          break;
        case 'id':
          spec.id = value;
          break;
        case 'source':
        case 'src':
          spec.src = value;
          break;
        case 'env':
          spec.env = value;
          break;
        default:
          throw bad(`unexpected key '${key}' in '${f}'`);
      }
    }
    if (type === 'env' && spec.env === undefined) {
      spec.env = spec.src ?? spec.id;
      delete spec.src;
    }
    if (spec.id === '') throw bad(`invalid secret "${s}": id is required`);
    return spec;
  });
}

function parseSSH(values: readonly string[]): SSHSpec[] {
  return values.map((s) => {
    const eq = s.indexOf('=');
    const id = eq < 0 ? s : s.slice(0, eq);
    if (id === '') throw bad(`invalid ssh spec "${s}": empty id`);
    return {
      id,
      paths:
        eq < 0
          ? []
          : s
              .slice(eq + 1)
              .split(',')
              .filter((p) => p !== ''),
    };
  });
}

function parseAttests(values: readonly string[], sbom: string | undefined, provenance: string | undefined) {
  const all = [...values];
  const canonical = (type: string, v: string) => {
    const b = parseGoBool(v);
    return b === undefined ? `type=${type},${v}` : `type=${type},disabled=${!b}`;
  };
  if (provenance) all.push(canonical('provenance', provenance));
  if (sbom) all.push(canonical('sbom', sbom));
  const byType = new Map<string, AttestSpec>();
  for (const s of all) {
    const a: AttestSpec = { type: '', disabled: false, attrs: {} };
    for (const f of fieldsOf(s, 'attest')) {
      const eq = f.indexOf('=');
      if (eq < 0) throw bad(`invalid value ${f}`);
      const key = f.slice(0, eq).toLowerCase();
      const value = f.slice(eq + 1);
      if (key === 'type') a.type = value;
      else if (key === 'disabled') {
        const b = parseGoBool(value);
        if (b === undefined)
          throw bad(`invalid value ${value} for disabled in "${s}": expected true or false`);
        a.disabled = b;
      } else a.attrs[key] = value;
    }
    if (a.type === '') throw bad(`attestation type not specified: ${s}`);
    if (byType.has(a.type)) throw bad(`duplicate attestation field ${a.type}`);
    byType.set(a.type, a);
  }
  return [...byType.values()];
}

export function parseCall(value: string): CallSpec {
  const call: CallSpec = { name: 'build', format: 'text', ignoreStatus: false };
  if (value === '' || value === 'build') return call;
  let name = '';
  for (const f of fieldsOf(value, 'call')) {
    const eq = f.indexOf('=');
    if (eq < 0) {
      name = f;
      continue;
    }
    const k = f.slice(0, eq);
    const v = f.slice(eq + 1);
    if (k === 'format') {
      if (v !== 'json' && v !== 'text') throw bad(`invalid format ${v}`);
      call.format = v;
    } else if (k === 'ignorestatus') {
      const b = parseGoBool(v);
      if (b === undefined) throw bad(`failed to parse ignorestatus "${v}": expected true or false`);
      call.ignoreStatus = b;
    } else throw bad(`invalid value ${f}`);
  }
  if (name === 'lint') name = 'check';
  if (name !== 'build' && name !== 'check' && name !== 'outline' && name !== 'targets') {
    throw bad(`invalid call "${name}": expected one of "build", "check", "outline", "targets"`);
  }
  call.name = name;
  return call;
}

function parseUlimits(values: readonly string[]): Ulimit[] {
  return values.map((s) => {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(s);
    if (!m) throw bad(`invalid ulimit argument: ${s}`);
    const soft = Number(m[2]);
    const hard = m[3] === undefined ? soft : Number(m[3]);
    if (soft > hard && hard !== -1)
      throw bad(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    return { name: m[1]!, soft, hard };
  });
}

function parseHosts(values: readonly string[]): { host: string; ip: string }[] {
  return values.map((s) => {
    const sep = s.includes('=') ? s.indexOf('=') : s.indexOf(':');
    if (sep <= 0 || sep === s.length - 1)
      throw bad(`invalid argument "${s}" for "--add-host" flag: bad format`);
    return { host: s.slice(0, sep), ip: s.slice(sep + 1) };
  });
}

/** A build as the command line asks for it: the library's options and what the CLI reports. */
export interface BuildInvocation {
  options: BuildOptions;
  /** `--call`, `--check`, `--print` */
  call: CallSpec;
  /** `--progress`; `-q` is `quiet` */
  progress: ProgressMode;
  metadataFile?: string;
  iidfile?: string;
}

/** Turns the parsed flags into a BuildInvocation (pure: the host platform and env come in). */
export function buildOptionsFromFlags(
  args: readonly string[],
  f: Flags,
  env: NodeJS.ProcessEnv,
  host: Platform,
  builder?: string,
): BuildInvocation {
  const progress = f.string('progress') ?? 'auto';
  if (!(progressModes as readonly string[]).includes(progress)) {
    throw bad(`invalid progress mode "${progress}": expected "auto", "quiet", "plain", "tty" or "rawjson"`);
  }
  const quiet = f.bool('quiet');
  if (quiet && progress !== 'auto' && progress !== 'quiet') {
    throw bad(`progress=${progress} and quiet cannot be used together`);
  }
  let callValue = f.string('call') ?? 'build';
  if (f.given('print')) callValue = f.string('print') ?? callValue;
  if (f.bool('check')) callValue = 'check';
  const options = optionsFromFlags(args, f, env, host, builder);
  const iidfile = f.string('iidfile');
  if (iidfile && options.outputs.some((o) => o.type === 'local' || o.type === 'tar')) {
    throw bad('local and tar exporters are incompatible with image ID file');
  }
  const metadataFile = f.string('metadata-file');
  return {
    options,
    call: parseCall(callValue),
    progress: quiet ? 'quiet' : (progress as ProgressMode),
    ...(metadataFile ? { metadataFile } : {}),
    ...(iidfile ? { iidfile } : {}),
  };
}

/** The flags that say what to build and where the result goes. */
function optionsFromFlags(
  args: readonly string[],
  f: Flags,
  env: NodeJS.ProcessEnv,
  host: Platform,
  builder?: string,
): BuildOptions {
  const network = f.string('network') ?? 'default';
  if (!['default', 'none', 'host'].includes(network)) {
    throw bad(`invalid network mode "${network}": expected "default", "none" or "host"`);
  }
  let platformSpecs = f.list('platform');
  if (platformSpecs.length === 0 && env.DOCKER_DEFAULT_PLATFORM)
    platformSpecs = [env.DOCKER_DEFAULT_PLATFORM];
  const load = parseLoad(f.string('load'));
  const opts: BuildOptions = {
    contextPath: args[0]!,
    tags: f.list('tag'),
    platforms: parsePlatformList(platformSpecs, host),
    buildArgs: listToMap(f.list('build-arg'), env),
    noCache: f.bool('no-cache'),
    noCacheFilter: f.list('no-cache-filter'),
    pull: f.bool('pull'),
    outputs: parseOutputs(f.list('output')),
    push: f.bool('push'),
    load: load !== false,
    labels: listToMap(f.list('label'), undefined),
    annotations: f.list('annotation').map((a) => parseAnnotation(a, host)),
    network: network as NetworkMode,
    secrets: parseSecrets(f.list('secret')),
    ssh: parseSSH(f.list('ssh')),
    cacheFrom: parseCacheSpecs(f.list('cache-from')),
    cacheTo: parseCacheSpecs(f.list('cache-to')),
    buildContexts: parseBuildContexts(f.list('build-context')),
    attests: parseAttests(f.list('attest'), f.string('sbom'), f.string('provenance')),
    allow: f.list('allow'),
    addHosts: parseHosts(f.list('add-host')),
    shmSize: parseShmSize(f.string('shm-size')),
    ulimits: parseUlimits(f.list('ulimit')),
  };
  const file = f.string('file');
  if (file) opts.file = file;
  const target = f.string('target');
  if (target) opts.target = target;
  if (load === 'docker') opts.loadDocker = true;
  const cgroupParent = f.string('cgroup-parent');
  if (cgroupParent) opts.cgroupParent = cgroupParent;
  if (builder) opts.builder = builder;
  return opts;
}

function parseShmSize(shm: string | undefined): number {
  if (shm === undefined || shm === '') return 0;
  const n = parseByteSize(shm);
  if (n === undefined) throw bad(`invalid argument "${shm}" for "--shm-size" flag: invalid size: '${shm}'`);
  return n;
}

function parseBuildContexts(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of values) {
    const eq = c.indexOf('=');
    if (eq <= 0) throw bad(`invalid context value: ${c}, expected key=value`);
    out[c.slice(0, eq)] = c.slice(eq + 1);
  }
  return out;
}

/** `--call check|targets|outline`: the answer, printed as buildx prints it; the exit code. */
async function runCall(ctx: CommandContext, inv: BuildInvocation, host: Platform): Promise<number> {
  const { call } = inv;
  if (call.name === 'build') throw new Error('runCall is for --call subrequests');
  const r = await callBuild(ctx, inv.options, call.name, host);
  const json = call.format === 'json';
  switch (r.call) {
    case 'check':
      ctx.stdout.write(json ? `${checkJSON(r.warnings)}\n` : formatLintResults(r.dockerfile, r.warnings));
      return r.warnings.length > 0 && !call.ignoreStatus ? 1 : 0;
    case 'targets':
      ctx.stdout.write(json ? `${targetsJSON(r.targets, r.source)}\n` : formatTargets(r.targets));
      return 0;
    case 'outline':
      ctx.stdout.write(json ? `${outlineJSON(r.outline, r.source)}\n` : formatOutline(r.outline));
      return 0;
  }
}

/** `--call check,format=json`: buildx's lint result object. */
function checkJSON(warnings: readonly LintWarning[]): string {
  const json = {
    warnings: warnings.map((w) => ({
      ruleName: w.rule.name,
      description: w.rule.description,
      url: w.rule.url,
      detail: w.message,
      location: {
        ranges: [{ start: { line: w.location.startLine }, end: { line: w.location.endLine } }],
      },
    })),
  };
  return JSON.stringify(json, null, 2);
}

/**
 * Runs the build with progress drawn on stderr, then reports as buildx does: the build checks'
 * warnings under the progress, the Dockerfile excerpt of a failed step, `--metadata-file`,
 * `--iidfile`, and the image ID on stdout for `--quiet`.
 */
async function runAndReport(ctx: CommandContext, inv: BuildInvocation): Promise<void> {
  const renderer = createRenderer(inv.progress === 'auto' ? undefined : inv.progress, {
    stream: ctx.stderr,
    env: ctx.env,
  });
  const warnings: VertexWarning[] = [];
  const progress: StatusSink = {
    write(s) {
      if (s.warnings) warnings.push(...s.warnings);
      renderer.write(s);
    },
  };
  const finish = async () => {
    await renderer.done();
    printWarnings(ctx.stderr, warnings, inv.progress);
  };
  const root = ctx.globals.string('root');
  let result: BuildResult;
  try {
    result = await runBuild(
      {
        stdin: ctx.stdin,
        stdout: ctx.stdout,
        env: ctx.env,
        cwd: ctx.cwd,
        signal: ctx.signal,
        ...(root ? { root } : {}),
        progress,
        warn: (m) => ctx.stderr.write(`WARNING: ${m}\n`),
        ...(ctx.globals.bool('debug')
          ? { debug: (line: string) => ctx.stderr.write(`DEBUG: ${line}\n`) }
          : {}),
      },
      inv.options,
    );
  } catch (err) {
    await finish();
    if (err instanceof BuildError && err.source) {
      const s = err.source;
      ctx.stderr.write(formatExcerpt(s.file, s.lines, s.startLine, s.endLine));
    }
    throw err;
  }
  await finish();
  await writeReports(ctx, inv, result);
}

/** buildx's summary of the build checks under the progress (rawjson carries them; quiet prints none). */
function printWarnings(
  stderr: NodeJS.WritableStream,
  warnings: readonly VertexWarning[],
  mode: ProgressMode,
) {
  if (warnings.length === 0 || mode === 'quiet' || mode === 'rawjson') return;
  const n = warnings.length;
  stderr.write(`\n ${n} warning${n === 1 ? '' : 's'} found (use --debug to expand):\n`);
  for (const w of warnings) stderr.write(` - ${Buffer.from(w.short, 'base64').toString('utf8')}\n`);
}

async function writeReports(ctx: CommandContext, inv: BuildInvocation, result: BuildResult): Promise<void> {
  await writeBuildFiles(result, {
    ...(inv.metadataFile ? { metadataFile: resolve(ctx.cwd, inv.metadataFile) } : {}),
    ...(inv.iidfile ? { iidfile: resolve(ctx.cwd, inv.iidfile) } : {}),
  });
  const id = result.imageID;
  if (inv.progress === 'quiet' && id && !inv.options.outputs.some((o) => o.destination === '-')) {
    ctx.stdout.write(`${id}\n`);
  }
}

export const run: CommandRun = async (ctx, args, f) => {
  const host = detectHostPlatform();
  let inv: BuildInvocation;
  try {
    inv = buildOptionsFromFlags(args, f, ctx.env, host, ctx.globals.string('builder'));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message, ctx.commandPath);
    throw err;
  }
  if (inv.call.name !== 'build') return runCall(ctx, inv, host);
  // the CLI owns the process: a build streams, so its heap is collected sooner (src/heap.ts)
  limitHeapGrowth();
  await runAndReport(ctx, inv);
  return 0;
};
