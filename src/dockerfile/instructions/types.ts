/**
 * dockerfile/instructions/types — the typed instructions, one discriminated union switched on
 * `kind` (BuildKit's instructions/commands.go). Values are raw as written in the Dockerfile:
 * variables are expanded later, per stage, with `expandInstruction`.
 */

/** Where an instruction is: 1-based lines, continuations and heredoc bodies included. */
export interface SourceRange {
  startLine: number;
  endLine: number;
}

interface Base {
  /** the instruction word as written (`RUN`, `run`), for the casing lint and step names */
  word: string;
  /** the logical line, trimmed (BuildKit's String()): `RUN go build -o hello .` */
  original: string;
  location: SourceRange;
  /** comment lines directly above the instruction */
  comments: string[];
}

export interface KeyValue {
  key: string;
  value: string;
  /** written in the legacy `KEY value` form */
  noDelim: boolean;
}

export interface ArgDefinition {
  key: string;
  /** undefined for `ARG NAME` without a default */
  value: string | undefined;
  /** from a comment line `# NAME description` directly above */
  comment: string;
}

/** A here-document that RUN feeds to the shell, or writes and runs when it has a `#!` line. */
export interface InlineFile {
  name: string;
  data: string;
  chomp: boolean;
}

/** A here-document used as a COPY/ADD source. */
export interface SourceContent {
  /** the heredoc delimiter, used as the file name */
  path: string;
  /** chomped already when written `<<-` */
  data: string;
  /** variables in `data` are expanded (the delimiter was not quoted) */
  expand: boolean;
}

export interface ShellDependentCmdLine {
  cmdLine: string[];
  /** shell form: the default or SHELL shell is put in front */
  prependShell: boolean;
  files: InlineFile[];
}

export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

export interface FromInstruction extends Base {
  kind: 'FROM';
  /** the image or stage, unexpanded */
  baseName: string;
  /** lower-cased `AS` name, '' when none */
  stageName: string;
  /** `--platform` value, unexpanded, '' when none */
  platform: string;
  /** the `AS` keyword as written, '' when none (for the casing lint) */
  asWord: string;
  /** the stage name as written, '' when none */
  stageNameAsWritten: string;
}

export interface RunInstruction extends Base, ShellDependentCmdLine {
  kind: 'RUN';
  /** raw `--mount` values; parse with `parseMount` after expanding */
  mounts: string[];
  network: NetworkMode;
  security: SecurityMode;
  /** the flag names given, for lints */
  flagsUsed: string[];
}

export interface CmdInstruction extends Base, ShellDependentCmdLine {
  kind: 'CMD';
}

export interface EntrypointInstruction extends Base, ShellDependentCmdLine {
  kind: 'ENTRYPOINT';
  /** `ENTRYPOINT []` clears it: cmdLine is empty and `clear` is true */
  clear: boolean;
}

export interface LabelInstruction extends Base {
  kind: 'LABEL';
  labels: KeyValue[];
}

export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  maintainer: string;
}

export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  /** as written, sorted (BuildKit sorts them) */
  ports: string[];
}

export interface EnvInstruction extends Base {
  kind: 'ENV';
  env: KeyValue[];
}

interface CopyLike extends Base {
  /** context (or stage) paths, the destination excluded */
  sources: string[];
  /** heredoc sources */
  sourceContents: SourceContent[];
  dest: string;
  chown: string;
  chmod: string;
  link: boolean;
  exclude: string[];
}

export interface AddInstruction extends CopyLike {
  kind: 'ADD';
  keepGitDir: boolean;
  checksum: string;
  /** undefined unless `--unpack` was given */
  unpack: boolean | undefined;
}

export interface CopyInstruction extends CopyLike {
  kind: 'COPY';
  /** `--from` value (stage name, stage index or image), '' when none */
  from: string;
  parents: boolean;
}

export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  volumes: string[];
}

export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}

export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: ArgDefinition[];
}

export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** the trigger instruction's text (heredoc bodies appended) */
  expression: string;
}

export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}

/** Durations are nanoseconds, as the image config stores them. */
export interface HealthConfig {
  /** `['NONE']`, `['CMD', …]` or `['CMD-SHELL', cmd]` */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  health: HealthConfig;
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

/** Every instruction but FROM, which starts a stage. */
export type Command =
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | ShellInstruction;

export type Instruction = FromInstruction | Command;

export type InstructionKind = Instruction['kind'];

/** One build stage: a FROM and the commands up to the next FROM. */
export interface Stage {
  /** 0-based position in the Dockerfile */
  index: number;
  /** lower-cased `AS` name, '' when none */
  name: string;
  from: FromInstruction;
  commands: Command[];
  /** `# name description` above the FROM: the stage's description for `--call targets` */
  description: string;
}

/** A parsed Dockerfile: stages, the ARGs before the first FROM, and what the parser found. */
export interface Dockerfile {
  file: string;
  stages: Stage[];
  /** ARGs before the first FROM (the global scope) */
  metaArgs: ArgInstruction[];
  escapeToken: string;
  /** `# syntax=` value, '' when none */
  syntax: string;
  /** `# check=` value, '' when none */
  check: string;
  warnings: { short: string; detail: string; url: string; line: number }[];
  /** source lines without line endings, for excerpts */
  lines: string[];
}
