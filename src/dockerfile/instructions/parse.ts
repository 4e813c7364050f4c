/**
 * dockerfile/instructions/parse — parse tree → typed instructions and stages (BuildKit's
 * instructions/parse.go): every instruction's argument count, flags and their values are
 * checked here; variables are left unexpanded.
 *
 *     const df = parseInstructions(parseDockerfile(text));
 *     df.stages[0].from.baseName  → 'golang:1.23'
 *     df.stages[0].commands[0]    → { kind: 'RUN', cmdLine: ['go build .'], prependShell: true, … }
 */
import { DockerfileError } from '../../errors.js';
import { parseGoDuration } from '../../goparse.js';
import { chompHeredocContent, parseHeredoc } from '../parser/heredoc.js';
import { type Node, nodeArgs } from '../parser/node.js';
import type { ParseResult } from '../parser/parser.js';
import { ShellLex } from '../shell/lex.js';
import { BFlags, FlagError } from './bflags.js';
import { parseMount } from './mount.js';
import { withSuggestion } from './suggest.js';
import type {
  AddInstruction,
  ArgDefinition,
  ArgInstruction,
  Command,
  CopyInstruction,
  Dockerfile,
  FromInstruction,
  HealthConfig,
  Instruction,
  KeyValue,
  NetworkMode,
  SecurityMode,
  ShellDependentCmdLine,
  SourceContent,
  SourceRange,
  Stage,
} from './types.js';

export const instructionNames = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;

/** An instruction-level error; `near` is text to point the column at. */
class InstructionError extends Error {
  constructor(
    message: string,
    readonly near?: string,
  ) {
    super(message);
  }
}

interface Request {
  word: string;
  args: string[];
  node: Node;
  flags: BFlags;
  original: string;
  location: SourceRange;
  comments: string[];
  escapeToken: string;
}

function base(req: Request) {
  return { word: req.word, original: req.original, location: req.location, comments: req.comments };
}

function parseFlags(req: Request): void {
  try {
    req.flags.parse();
  } catch (err) {
    if (err instanceof FlagError) throw new InstructionError(err.message, err.flag);
    throw err;
  }
}

const errAtLeastOne = (c: string) => new InstructionError(`${c} requires at least one argument`);
const errExactlyOne = (c: string) => new InstructionError(`${c} requires exactly one argument`);
const errNoDestination = (c: string) =>
  new InstructionError(
    `${c} requires at least two arguments, but only one was provided. Destination could not be determined`,
  );

function handleJSONArgs(args: string[], node: Node): string[] {
  if (args.length === 0) return [];
  if (node.attributes.json) return args;
  return [args.join(' ')];
}

function errNotJSON(command: string, original: string): InstructionError {
  let extra = '';
  const o = original.toLowerCase().split(`${command.toLowerCase()} `).join('');
  if (/"[a-z]:\\.*/.test(o) && !o.includes('\\\\') && o.includes('[') && o.includes(']')) {
    extra = `. It looks like '${o}' includes a file path without an escaped back-slash. JSON requires back-slashes to be escaped such as ["c:\\\\path\\\\to\\\\file.exe", "/parameter"]`;
  }
  return new InstructionError(`${command} requires the arguments to be in JSON form${extra}`);
}

/** `# name description` → `description` (BuildKit's getComment). */
export function getComment(comments: readonly string[], name: string): string {
  if (name === '') return '';
  for (const line of comments) {
    if (line.startsWith(`${name} `)) return line.slice(name.length + 1);
  }
  return '';
}

function parseKvps(args: string[], cmd: string): KeyValue[] {
  if (args.length === 0) throw errAtLeastOne(cmd);
  if (args.length % 3 !== 0) throw new InstructionError(`Bad input to ${cmd}, too many arguments`);
  const out: KeyValue[] = [];
  for (let j = 0; j < args.length; j += 3) {
    if (args[j]!.length === 0) throw new InstructionError(`${cmd} names can not be blank`);
    out.push({ key: args[j]!, value: args[j + 1]!, noDelim: args[j + 2] === '' });
  }
  return out;
}

function shellDependent(req: Request): ShellDependentCmdLine {
  return {
    cmdLine: handleJSONArgs(req.args, req.node),
    prependShell: !req.node.attributes.json,
    files: req.node.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp })),
  };
}

function sourcesAndDest(req: Request, cmd: string) {
  const srcs = req.args.slice(0, -1);
  const dest = req.args[req.args.length - 1]!;
  if (parseHeredoc(dest)) throw new InstructionError(`${cmd} cannot accept a heredoc as a destination`, dest);
  const byName = new Map(req.node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const sourceContents: SourceContent[] = [];
  for (const src of srcs) {
    const h = parseHeredoc(src);
    if (h) {
      let data = byName.get(h.name)?.content ?? '';
      if (h.chomp) data = chompHeredocContent(data);
      sourceContents.push({ path: h.name, data, expand: h.expand });
    } else {
      sources.push(src);
    }
  }
  return { sources, sourceContents, dest };
}

function parseInterval(name: string, value: string): number {
  if (value === '') return 0;
  let d: number;
  try {
    d = parseGoDuration(value);
  } catch (err) {
    throw new InstructionError((err as Error).message, `--${name}`);
  }
  if (d === 0) return 0;
  if (d < 1e6) throw new InstructionError(`Interval "${name}" cannot be less than 1ms`, `--${name}`);
  return d;
}

function parseHealthcheck(req: Request): HealthConfig {
  if (req.args.length === 0) throw errAtLeastOne('HEALTHCHECK');
  const typ = req.args[0]!.toUpperCase();
  const args = req.args.slice(1);
  const none: HealthConfig = {
    test: [],
    interval: 0,
    timeout: 0,
    startPeriod: 0,
    startInterval: 0,
    retries: 0,
  };
  if (typ === 'NONE') {
    if (args.length !== 0) throw new InstructionError('HEALTHCHECK NONE takes no arguments');
    return { ...none, test: ['NONE'] };
  }
  const fInterval = req.flags.addString('interval');
  const fTimeout = req.flags.addString('timeout');
  const fStartPeriod = req.flags.addString('start-period');
  const fStartInterval = req.flags.addString('start-interval');
  const fRetries = req.flags.addString('retries');
  parseFlags(req);
  if (typ !== 'CMD')
    throw new InstructionError(`Unknown type "${typ}" in HEALTHCHECK (try CMD)`, req.args[0]);
  const cmd = handleJSONArgs(args, req.node);
  if (cmd.length === 0) throw new InstructionError('Missing command after HEALTHCHECK CMD');
  const test = [req.node.attributes.json ? 'CMD' : 'CMD-SHELL', ...cmd];
  let retries = 0;
  if (fRetries.value !== '') {
    if (!/^[+-]?\d+$/.test(fRetries.value)) {
      throw new InstructionError(
        `strconv.ParseInt: parsing "${fRetries.value}": invalid syntax`,
        '--retries',
      );
    }
    retries = Number.parseInt(fRetries.value, 10);
    if (retries > 2147483647 || retries < -2147483648) {
      throw new InstructionError(
        `strconv.ParseInt: parsing "${fRetries.value}": value out of range`,
        '--retries',
      );
    }
    if (retries < 0) throw new InstructionError(`--retries cannot be negative (${retries})`, '--retries');
  }
  return {
    test,
    interval: parseInterval('interval', fInterval.value),
    timeout: parseInterval('timeout', fTimeout.value),
    startPeriod: parseInterval('start-period', fStartPeriod.value),
    startInterval: parseInterval('start-interval', fStartInterval.value),
    retries,
  };
}

const validStageName = /^[a-z][a-z0-9-_.]*$/;

function parseFrom(req: Request): FromInstruction {
  let stageName = '';
  if (req.args.length === 3 && req.args[1]!.toLowerCase() === 'as') {
    stageName = req.args[2]!.toLowerCase();
    if (!validStageName.test(stageName)) {
      throw new InstructionError(
        `invalid name for build stage: "${req.args[2]}", name can't start with a number or contain symbols`,
        req.args[2],
      );
    }
  } else if (req.args.length !== 1) {
    throw new InstructionError('FROM requires either one or three arguments');
  }
  const platform = req.flags.addString('platform');
  parseFlags(req);
  return {
    kind: 'FROM',
    ...base(req),
    baseName: req.args[0]!,
    stageName,
    platform: platform.value,
    asWord: req.args.length === 3 ? req.args[1]! : '',
    stageNameAsWritten: req.args.length === 3 ? req.args[2]! : '',
  };
}

function parseRun(req: Request): Command {
  const mount = req.flags.addStrings('mount');
  const network = req.flags.addString('network', 'default');
  const security = req.flags.addString('security', 'sandbox');
  parseFlags(req);
  for (const m of mount.values) {
    try {
      // what can be checked before expansion; all of it when nothing would be expanded
      parseMount(m, /[$\\'"]/.test(m) ? undefined : (w) => w);
    } catch (err) {
      throw new InstructionError((err as Error).message, '--mount');
    }
  }
  if (!['default', 'none', 'host'].includes(network.value)) {
    throw new InstructionError(`invalid network mode "${network.value}"`, '--network');
  }
  if (!['sandbox', 'insecure'].includes(security.value)) {
    throw new InstructionError(`security "${security.value}" is not valid`, '--security');
  }
  return {
    kind: 'RUN',
    ...base(req),
    ...shellDependent(req),
    mounts: mount.values,
    network: network.value as NetworkMode,
    security: security.value as SecurityMode,
    flagsUsed: [...req.flags.used],
  };
}

function parseArgs(req: Request): ArgDefinition[] {
  if (req.args.length < 1) throw errAtLeastOne('ARG');
  parseFlags(req);
  return req.args.map((arg) => {
    const eq = arg.indexOf('=');
    const key = eq >= 0 ? arg.slice(0, eq) : arg;
    if (eq >= 0 && key.length === 0) throw new InstructionError('ARG names can not be blank');
    return { key, value: eq >= 0 ? arg.slice(eq + 1) : undefined, comment: getComment(req.comments, key) };
  });
}

function parseAdd(req: Request): AddInstruction {
  if (req.args.length < 2) throw errNoDestination('ADD');
  const exclude = req.flags.addStrings('exclude');
  const chown = req.flags.addString('chown');
  const chmod = req.flags.addString('chmod');
  const link = req.flags.addBool('link');
  const keepGitDir = req.flags.addBool('keep-git-dir');
  const checksum = req.flags.addString('checksum');
  const unpack = req.flags.addBool('unpack');
  parseFlags(req);
  return {
    kind: 'ADD',
    ...base(req),
    ...sourcesAndDest(req, 'ADD'),
    chown: chown.value,
    chmod: chmod.value,
    link: link.isTrue(),
    exclude: exclude.values,
    keepGitDir: keepGitDir.isTrue(),
    checksum: checksum.value,
    unpack: unpack.used ? unpack.isTrue() : undefined,
  };
}

function parseCopy(req: Request): CopyInstruction {
  if (req.args.length < 2) throw errNoDestination('COPY');
  const exclude = req.flags.addStrings('exclude');
  const parents = req.flags.addBool('parents');
  const chown = req.flags.addString('chown');
  const from = req.flags.addString('from');
  const chmod = req.flags.addString('chmod');
  const link = req.flags.addBool('link');
  parseFlags(req);
  if (from.value !== '') {
    // BuildKit rejects --from values that expansion would change when it builds the stage graph
    let same = false;
    try {
      same = new ShellLex({ escapeToken: req.escapeToken }).processWord(from.value).result === from.value;
    } catch {
      same = false;
    }
    if (!same) {
      throw new InstructionError(
        'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
        '--from',
      );
    }
  }
  return {
    kind: 'COPY',
    ...base(req),
    ...sourcesAndDest(req, 'COPY'),
    from: from.value,
    chown: chown.value,
    chmod: chmod.value,
    link: link.isTrue(),
    parents: parents.isTrue(),
    exclude: exclude.values,
  };
}

function exactlyOne(req: Request, cmd: string): string {
  if (req.args.length !== 1) throw errExactlyOne(cmd);
  parseFlags(req);
  return req.args[0]!;
}

function toInstruction(req: Request): Instruction {
  switch (req.word.toLowerCase()) {
    case 'from':
      return parseFrom(req);
    case 'run':
      return parseRun(req);
    case 'cmd':
      parseFlags(req);
      return { kind: 'CMD', ...base(req), ...shellDependent(req) };
    case 'entrypoint': {
      parseFlags(req);
      const sd = shellDependent(req);
      return { kind: 'ENTRYPOINT', ...base(req), ...sd, clear: sd.cmdLine.length === 0 };
    }
    case 'env':
      parseFlags(req);
      return { kind: 'ENV', ...base(req), env: parseKvps(req.args, 'ENV') };
    case 'label':
      parseFlags(req);
      return { kind: 'LABEL', ...base(req), labels: parseKvps(req.args, 'LABEL') };
    case 'maintainer':
      return { kind: 'MAINTAINER', ...base(req), maintainer: exactlyOne(req, 'MAINTAINER') };
    case 'expose': {
      if (req.args.length === 0) throw errAtLeastOne('EXPOSE');
      parseFlags(req);
      return { kind: 'EXPOSE', ...base(req), ports: [...req.args].sort() };
    }
    case 'add':
      return parseAdd(req);
    case 'copy':
      return parseCopy(req);
    case 'volume': {
      if (req.args.length === 0) throw errAtLeastOne('VOLUME');
      parseFlags(req);
      const volumes = req.args.map((v) => v.trim());
      if (volumes.some((v) => v === ''))
        throw new InstructionError('VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...base(req), volumes };
    }
    case 'user':
      return { kind: 'USER', ...base(req), user: exactlyOne(req, 'USER') };
    case 'workdir':
      return { kind: 'WORKDIR', ...base(req), path: exactlyOne(req, 'WORKDIR') };
    case 'arg':
      return { kind: 'ARG', ...base(req), args: parseArgs(req) };
    case 'onbuild': {
      if (req.args.length === 0) throw errAtLeastOne('ONBUILD');
      parseFlags(req);
      const trigger = req.args[0]!.trim().toUpperCase();
      if (trigger === 'ONBUILD')
        throw new InstructionError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'MAINTAINER' || trigger === 'FROM') {
        throw new InstructionError(`${trigger} isn't allowed as an ONBUILD trigger`);
      }
      let expression = req.node.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of req.node.heredocs) expression += `\n${h.content}${h.name}`;
      return { kind: 'ONBUILD', ...base(req), expression };
    }
    case 'stopsignal':
      return { kind: 'STOPSIGNAL', ...base(req), signal: exactlyOne(req, 'STOPSIGNAL') };
    case 'healthcheck':
      return { kind: 'HEALTHCHECK', ...base(req), health: parseHealthcheck(req) };
    case 'shell': {
      parseFlags(req);
      const shell = handleJSONArgs(req.args, req.node);
      if (shell.length === 0) throw errAtLeastOne('SHELL');
      if (!req.node.attributes.json) throw errNotJSON('SHELL', req.original);
      return { kind: 'SHELL', ...base(req), shell };
    }
    default:
      throw new InstructionError(
        withSuggestion(`unknown instruction: ${req.word.toUpperCase()}`, req.word, instructionNames, false),
        req.word,
      );
  }
}

export interface InstructionContext {
  file: string;
  /** the escape token in force (default `\\`) */
  escapeToken?: string;
  /** source lines, to point the column at the offending text */
  lines?: readonly string[];
}

/** The 1-based column of `near` on the instruction's first line, or of its first non-blank. */
function columnOf(node: Node, ctx: InstructionContext, near: string | undefined): number {
  const line = ctx.lines?.[node.startLine - 1];
  if (line === undefined) return 1;
  if (near) {
    const i = line.indexOf(near);
    if (i >= 0) return i + 1;
  }
  const m = /\S/.exec(line);
  return m ? m.index + 1 : 1;
}

/** Converts one parse-tree node to a typed instruction, or throws a DockerfileError. */
export function parseInstruction(node: Node, ctx: InstructionContext): Instruction {
  const req: Request = {
    word: node.value,
    args: nodeArgs(node),
    node,
    flags: new BFlags(node.flags),
    original: node.original.trim(),
    location: { startLine: node.startLine, endLine: node.endLine },
    comments: node.prevComment,
    escapeToken: ctx.escapeToken ?? '\\',
  };
  try {
    return toInstruction(req);
  } catch (err) {
    const near = err instanceof InstructionError ? err.near : undefined;
    throw new DockerfileError(
      { file: ctx.file, line: node.startLine, column: columnOf(node, ctx, near) },
      (err as Error).message,
      { cause: err },
    );
  }
}

/** The stages and global ARGs of a parsed Dockerfile (BuildKit's instructions.Parse). */
export function parseInstructions(result: ParseResult): Dockerfile {
  const ctx: InstructionContext = { file: result.file, lines: result.lines, escapeToken: result.escapeToken };
  const stages: Stage[] = [];
  const metaArgs: ArgInstruction[] = [];
  for (const node of result.ast.children) {
    const ins = parseInstruction(node, ctx);
    if (ins.kind === 'FROM') {
      stages.push({
        index: stages.length,
        name: ins.stageName,
        from: ins,
        commands: [],
        description: getComment(ins.comments, ins.stageName),
      });
      continue;
    }
    if (stages.length === 0) {
      if (ins.kind === 'ARG') {
        metaArgs.push(ins);
        continue;
      }
      throw new DockerfileError(
        { file: ctx.file, line: node.startLine, column: columnOf(node, ctx, undefined) },
        'no build stage in current context',
      );
    }
    stages[stages.length - 1]!.commands.push(ins);
  }
  const directive = (name: string) => result.directives.find((d) => d.name === name)?.value ?? '';
  return {
    file: result.file,
    stages,
    metaArgs,
    escapeToken: result.escapeToken,
    syntax: directive('syntax'),
    check: directive('check'),
    warnings: result.warnings,
    lines: result.lines,
  };
}
