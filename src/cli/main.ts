/**
 * cli/main — the entry point of `./bin/polyarch`: the root command, its global flags, signal
 * handling, and the exit code.
 */

import { beforeUndiciLoads } from '../undici.js';
import { type Command, runCommandLine } from './command.js';
import { commands } from './commands/index.js';
import { useBaselineWasm } from './context.js';
import { type BrokenPipe, lazyOutput } from './output.js';

export const rootCommand: Command = {
  name: 'polyarch',
  usage: '[OPTIONS] COMMAND',
  short: 'Build container images for many platforms at once, without a daemon',
  flags: [
    {
      name: 'root',
      kind: 'string',
      usage: 'Directory of the local store and build cache (default /var/lib/polyarch as root)',
      env: 'POLYARCH_ROOT',
    },
    {
      name: 'builder',
      kind: 'string',
      usage: 'Override the configured builder instance',
      env: 'BUILDX_BUILDER',
    },
    { name: 'debug', short: 'D', kind: 'bool', usage: 'Enable debug logging' },
  ],
  subcommands: Object.values(commands),
};

export async function main(argv: readonly string[]): Promise<number> {
  // undici's HTTP parser is WebAssembly: V8's baseline compiler runs it as fast for us and
  // saves tens of MB per process (the CLI owns the process, so it may set this); set when a
  // command first speaks HTTP, so that the others do not load node:v8
  beforeUndiciLoads(useBaselineWasm);
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // a reader of stdout or stderr that has gone (`polyarch ls | head -1`): as buildx, which dies
  // of SIGPIPE, print nothing more and end with 141 (128 + SIGPIPE), what a shell reports for
  // it; but first stop what runs (a build, a container) and clean up, as on Ctrl-C
  let broken = false;
  const pipe: BrokenPipe = {
    get broken() {
      return broken;
    },
    break() {
      if (broken) return;
      broken = true;
      controller.abort(new Error('output pipe closed'));
    },
  };
  try {
    const code = await runCommandLine(rootCommand, argv, {
      // process.stdin builds a stream at first use (3 ms): only commands that read it pay
      get stdin() {
        return process.stdin;
      },
      // written to the descriptors until a command needs the streams (see ./output)
      stdout: lazyOutput(1, () => process.stdout, pipe),
      stderr: lazyOutput(2, () => process.stderr, pipe),
      env: process.env,
      cwd: process.cwd(),
      signal: controller.signal,
      rootName: 'polyarch',
    });
    return broken ? 141 : code;
  } catch (err) {
    // what failed once the reader had gone (a write to it, the stop) is for no one to read
    if (broken) return 141;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
