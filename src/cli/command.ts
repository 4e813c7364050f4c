/**
 * cli/command — a small cobra-like command framework: commands with flags and subcommands,
 * pflag-style parsing (`--flag value`, `--flag=value`, `-t value`, `-tvalue`, bool `--flag=false`,
 * repeatable and comma-separated lists, `--` to end flags), and help text laid out as docker
 * and buildx print it.
 *
 * It parses and prints only; what a command does lives in its `run`, which gets the parsed
 * flags, the positional arguments and injected streams.
 */
import { InvalidArgumentError, PolyarchError } from '../errors.js';
import { csvRecord, parseGoBool } from '../goparse.js';

export type FlagKind =
  /** true/false; `--flag`, `--flag=false` */
  | 'bool'
  /** one value; last one wins */
  | 'string'
  /** repeatable, each occurrence one value (pflag's stringArray) */
  | 'stringArray'
  /** repeatable and comma-separated (pflag's stringSlice, shown as `strings`) */
  | 'stringSlice'
  | 'int';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  /** help text, one line */
  usage: string;
  /** the placeholder shown after the flag in help (`string`, `stringArray`, `bytes`) */
  valueName?: string;
  /** shown as `(default "x")` */
  default?: string | number | boolean | string[];
  /** for string flags: the value when given without `=value` (`--load` means `--load=true`) */
  noOptDefault?: string;
  /** not listed in help */
  hidden?: boolean;
  /** the environment variable that provides a default */
  env?: string;
}

export type FlagValue = string | boolean | number | string[];

/** Parsed flags: only the ones given on the command line (or by env), plus defaults. */
export class Flags {
  readonly #values: Map<string, FlagValue>;
  readonly #given: Set<string>;
  constructor(values: Map<string, FlagValue>, given: Set<string>) {
    this.#values = values;
    this.#given = given;
  }
  /** true when the user set the flag (not only its default) */
  given(name: string): boolean {
    return this.#given.has(name);
  }
  string(name: string): string | undefined {
    const v = this.#values.get(name);
    return v === undefined ? undefined : String(v);
  }
  bool(name: string): boolean {
    return this.#values.get(name) === true;
  }
  int(name: string): number | undefined {
    const v = this.#values.get(name);
    return typeof v === 'number' ? v : undefined;
  }
  list(name: string): string[] {
    const v = this.#values.get(name);
    if (v === undefined) return [];
    return Array.isArray(v) ? v : [String(v)];
  }
}

export interface Streams {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export interface CommandContext extends Streams {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** the flags of the root command (`--root`, `--builder`, `--debug`) */
  globals: Flags;
  /** the full command path for messages: `polyarch imagetools inspect` */
  commandPath: string;
  /** aborted on SIGINT/SIGTERM */
  signal: AbortSignal;
}

/** What a command does with its parsed flags, positional arguments and context: the exit code. */
export type CommandRun = (ctx: CommandContext, args: string[], flags: Flags) => Promise<number | undefined>;

export interface Command {
  name: string;
  aliases?: string[];
  /** the arguments part of the usage line: `[OPTIONS] PATH | URL | -` */
  usage?: string;
  /** one-line description */
  short: string;
  /** longer description shown in the command's own help */
  long?: string;
  /** `management` commands are listed apart, as docker does */
  group?: 'management';
  flags?: FlagSpec[];
  subcommands?: Command[];
  /** inclusive bounds on positional arguments */
  args?: { min?: number; max?: number };
  hidden?: boolean;
  /** examples shown in help */
  examples?: string;
  /** false: flags end at the first positional argument (`run IMAGE COMMAND -x` passes `-x` on) */
  interspersed?: boolean;
  /**
   * What the command does. The command tables load a command's implementation inside its run
   * (`await import('../build.js')`), so that start-up and help compile only the flags.
   */
  run?: CommandRun;
}

/** An error in how the command line was written: printed with a pointer to `--help`. */
export class UsageError extends InvalidArgumentError {
  constructor(
    message: string,
    readonly commandPath: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const helpFlag: FlagSpec = { name: 'help', kind: 'bool', usage: 'Print usage', hidden: true };

interface Parsed {
  command: Command;
  path: Command[];
  args: string[];
  flags: Flags;
  globals: Flags;
  help: boolean;
}

function defaultsOf(
  specs: readonly FlagSpec[],
  env: NodeJS.ProcessEnv,
): { values: Map<string, FlagValue>; given: Set<string> } {
  const values = new Map<string, FlagValue>();
  const given = new Set<string>();
  for (const f of specs) {
    if (f.env && env[f.env] !== undefined && env[f.env] !== '') {
      const raw = env[f.env]!;
      values.set(f.name, f.kind === 'stringSlice' || f.kind === 'stringArray' ? raw.split(',') : raw);
      given.add(f.name);
    } else if (f.default !== undefined) {
      values.set(f.name, Array.isArray(f.default) ? [...f.default] : f.default);
    }
  }
  return { values, given };
}

function parseBool(name: string, raw: string, path: string): boolean {
  const b = parseGoBool(raw);
  if (b !== undefined) return b;
  throw new UsageError(
    `invalid argument "${raw}" for "--${name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`,
    path,
  );
}

function assign(
  spec: FlagSpec,
  raw: string,
  values: Map<string, FlagValue>,
  given: Set<string>,
  path: string,
): void {
  const firstTime = !given.has(spec.name);
  given.add(spec.name);
  switch (spec.kind) {
    case 'bool':
      values.set(spec.name, parseBool(spec.name, raw, path));
      return;
    case 'string':
      values.set(spec.name, raw);
      return;
    case 'int': {
      if (!/^-?\d+$/.test(raw)) {
        throw new UsageError(`invalid argument "${raw}" for "--${spec.name}" flag: not an integer`, path);
      }
      values.set(spec.name, Number.parseInt(raw, 10));
      return;
    }
    case 'stringArray':
    case 'stringSlice': {
      const prev = firstTime ? [] : ((values.get(spec.name) as string[] | undefined) ?? []);
      let add: string[];
      try {
        add = spec.kind === 'stringSlice' ? splitCSV(raw) : [raw];
      } catch (err) {
        throw new UsageError(
          `invalid argument "${raw}" for "--${spec.name}" flag: ${(err as Error).message}`,
          path,
        );
      }
      values.set(spec.name, [...prev, ...add]);
      return;
    }
  }
}

/**
 * pflag's stringSlice reads its value as one CSV record (quotes allowed); '' is no values.
 * Throws a plain Error on a stray quote.
 */
export function splitCSV(raw: string): string[] {
  return raw === '' ? [] : csvRecord(raw);
}

/** Parses argv against the command tree. */
export function parseCommandLine(
  root: Command,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  rootName: string,
): Parsed {
  const path: Command[] = [root];
  const rootFlags = [...(root.flags ?? []), helpFlag];
  const rootState = defaultsOf(rootFlags, env);
  let command = root;
  let specs = rootFlags;
  let state = rootState;
  const args: string[] = [];
  let help = false;
  const pathName = () => [rootName, ...path.slice(1).map((c) => c.name)].join(' ');

  const lookup = (name: string, short: boolean): { spec: FlagSpec; own: boolean } | undefined => {
    const match = (f: FlagSpec) => (short ? f.short === name : f.name === name);
    const own = specs.find(match);
    if (own) return { spec: own, own: true };
    // root (persistent) flags are accepted after any subcommand
    const g = rootFlags.find(match);
    return g ? { spec: g, own: false } : undefined;
  };

  let i = 0;
  let flagsEnded = false;
  while (i < argv.length) {
    const a = argv[i]!;
    i++;
    if (flagsEnded || a === '-' || !a.startsWith('-')) {
      // the first positional may name a subcommand
      if (!flagsEnded && args.length === 0 && command.subcommands?.length) {
        const sub = command.subcommands.find((c) => c.name === a || c.aliases?.includes(a));
        if (sub) {
          command = sub;
          path.push(sub);
          specs = [...(sub.flags ?? []), helpFlag];
          const d = defaultsOf(sub.flags ?? [], env);
          state = d;
          continue;
        }
        if (!command.run) throw new UsageError(`unknown command: ${pathName()} ${a}`, pathName());
      }
      args.push(a);
      if (command.interspersed === false) flagsEnded = true;
      continue;
    }
    if (a === '--') {
      flagsEnded = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const found = lookup(name, false);
      if (!found) throw new UsageError(`unknown flag: --${name}`, pathName());
      const target = found.own ? state : rootState;
      const { spec } = found;
      if (spec.name === 'help') {
        help = true;
        continue;
      }
      let raw: string;
      if (eq >= 0) raw = a.slice(eq + 1);
      else if (spec.kind === 'bool') raw = 'true';
      else if (spec.noOptDefault !== undefined) raw = spec.noOptDefault;
      else {
        if (i >= argv.length) throw new UsageError(`flag needs an argument: --${name}`, pathName());
        raw = argv[i]!;
        i++;
      }
      assign(spec, raw, target.values, target.given, pathName());
      continue;
    }
    // short flags: -t value, -tvalue, -t=value, -abc (bools)
    let j = 1;
    while (j < a.length) {
      const ch = a[j]!;
      if (ch === 'h') {
        help = true;
        j++;
        continue;
      }
      const found = lookup(ch, true);
      if (!found) throw new UsageError(`unknown shorthand flag: '${ch}' in ${a}`, pathName());
      const target = found.own ? state : rootState;
      const { spec } = found;
      if (spec.kind === 'bool') {
        if (a[j + 1] === '=') {
          assign(spec, a.slice(j + 2), target.values, target.given, pathName());
          break;
        }
        assign(spec, 'true', target.values, target.given, pathName());
        j++;
        continue;
      }
      let raw: string;
      if (j + 1 < a.length) raw = a[j + 1] === '=' ? a.slice(j + 2) : a.slice(j + 1);
      else if (spec.noOptDefault !== undefined) raw = spec.noOptDefault;
      else {
        if (i >= argv.length) throw new UsageError(`flag needs an argument: '${ch}' in -${ch}`, pathName());
        raw = argv[i]!;
        i++;
      }
      assign(spec, raw, target.values, target.given, pathName());
      break;
    }
  }
  return {
    command,
    path,
    args,
    flags: new Flags(state.values, state.given),
    globals: new Flags(rootState.values, rootState.given),
    help,
  };
}

function flagTypeName(f: FlagSpec): string {
  if (f.valueName !== undefined) return f.valueName;
  switch (f.kind) {
    case 'bool':
      return '';
    case 'string':
      return 'string';
    case 'int':
      return 'int';
    case 'stringArray':
      return 'stringArray';
    case 'stringSlice':
      return 'strings';
  }
}

function defaultText(f: FlagSpec): string {
  const d = f.default;
  if (d === undefined || d === false || d === '' || (Array.isArray(d) && d.length === 0)) return '';
  if (f.kind === 'string') return ` (default "${d}")`;
  if (Array.isArray(d)) return ` (default [${d.join(',')}])`;
  return ` (default ${d})`;
}

/**
 * The flag table as pflag lays it out: `  -t, --tag stringArray   Name and optionally a tag`,
 * sorted by name in byte order as pflag sorts (not localeCompare, whose collator costs the
 * process ~8 ms to set up on first use).
 */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs
    .filter((f) => !f.hidden)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => {
      const short = f.short ? `  -${f.short}, ` : '      ';
      const type = flagTypeName(f);
      const left = `${short}--${f.name}${type ? ` ${type}` : ''}`;
      return { left, right: f.usage + defaultText(f) };
    });
  const width = Math.max(0, ...rows.map((r) => r.left.length));
  return rows.map((r) => `${r.left.padEnd(width)}   ${r.right}`).join('\n');
}

/** The help text of a command, in docker's layout. */
export function formatHelp(
  command: Command,
  path: string,
  rootFlags: readonly FlagSpec[],
  isRoot: boolean,
): string {
  const lines: string[] = [];
  const subs = (command.subcommands ?? []).filter((c) => !c.hidden);
  const usageArgs =
    command.usage ?? (subs.length ? '[OPTIONS] COMMAND' : command.flags?.length ? '[OPTIONS]' : '');
  lines.push(`Usage:  ${path}${usageArgs ? ` ${usageArgs}` : ''}`, '');
  lines.push(command.long ?? command.short, '');
  if (command.aliases?.length) {
    const parent = path.slice(0, path.lastIndexOf(' '));
    lines.push(
      'Aliases:',
      `  ${[command.name, ...command.aliases].map((n) => `${parent} ${n}`).join(', ')}`,
      '',
    );
  }
  const own = command.flags ?? [];
  if (own.some((f) => !f.hidden)) lines.push('Options:', formatFlags(own), '');
  if (!isRoot && rootFlags.some((f) => !f.hidden)) lines.push('Global Options:', formatFlags(rootFlags), '');
  const listCommands = (title: string, cs: Command[]) => {
    if (cs.length === 0) return;
    const width = Math.max(...cs.map((c) => c.name.length));
    lines.push(`${title}:`);
    for (const c of cs) lines.push(`  ${c.name.padEnd(Math.max(width, 10))}  ${c.short}`);
    lines.push('');
  };
  listCommands(
    'Management Commands',
    subs.filter((c) => c.group === 'management'),
  );
  listCommands(
    'Commands',
    subs.filter((c) => c.group !== 'management'),
  );
  if (command.examples) lines.push('Examples:', command.examples.replace(/\n+$/, ''), '');
  if (subs.length) lines.push(`Run '${path} COMMAND --help' for more information on a command.`, '');
  return lines.join('\n');
}

export interface RunOptions extends Streams {
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal: AbortSignal;
  /** name printed in usage and errors: `polyarch` */
  rootName: string;
}

/**
 * Parses argv, runs the command, and returns the exit code. Errors that are polyarch's own
 * print `ERROR: message` (and a usage hint for usage errors); other errors are bugs and print
 * their stack.
 */
export async function runCommandLine(
  root: Command,
  argv: readonly string[],
  opts: RunOptions,
): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseCommandLine(root, argv, opts.env, opts.rootName);
  } catch (err) {
    if (err instanceof UsageError) {
      opts.stderr.write(`ERROR: ${err.message}\nSee '${err.commandPath} --help'.\n`);
      return 1;
    }
    throw err;
  }
  const { command, path, args, flags, globals, help } = parsed;
  const commandPath = [opts.rootName, ...path.slice(1).map((c) => c.name)].join(' ');
  if (help || !command.run) {
    opts.stdout.write(formatHelp(command, commandPath, root.flags ?? [], path.length === 1));
    return help || path.length === 1 ? 0 : 1;
  }
  const { min = 0, max = Number.POSITIVE_INFINITY } = command.args ?? {};
  if (args.length < min || args.length > max) {
    const want =
      min === max
        ? `exactly ${min} argument${min === 1 ? '' : 's'}`
        : args.length < min
          ? `at least ${min} argument${min === 1 ? '' : 's'}`
          : `at most ${max} argument${max === 1 ? '' : 's'}`;
    opts.stderr.write(
      `ERROR: "${commandPath}" requires ${want}.\nSee '${commandPath} --help'.\n\nUsage:  ${commandPath}${command.usage ? ` ${command.usage}` : ''}\n\n${command.short}\n`,
    );
    return 1;
  }
  // descriptors, not a spread: a stream the caller gives as a getter stays unbuilt until used
  const ctx: CommandContext = Object.defineProperties(
    { globals, commandPath },
    Object.getOwnPropertyDescriptors(opts),
  ) as typeof opts & { globals: Flags; commandPath: string };
  try {
    const code = await command.run(ctx, args, flags);
    return code ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      opts.stderr.write(`ERROR: ${err.message}\nSee '${err.commandPath} --help'.\n`);
      return 1;
    }
    if (err instanceof PolyarchError) {
      opts.stderr.write(`ERROR: ${err.message}\n`);
      if (globals.bool('debug') && err.cause)
        opts.stderr.write(`caused by: ${String((err.cause as Error)?.stack ?? err.cause)}\n`);
      return 1;
    }
    throw err;
  }
}
