/**
 * cli/context — what a command hands the library: the api context of its global flags
 * (`--root`, `--debug` as a `DEBUG:` line per registry request on stderr), environment,
 * working directory and cancellation; what commands that wait for running builds say; and the
 * process setting the CLI makes before any command.
 */
import type { PolyarchContext } from '../api/context.js';
import type { CommandContext } from './command.js';

/** The library's context for this command. */
export function apiContext(ctx: CommandContext): PolyarchContext {
  const root = ctx.globals.string('root');
  return {
    ...(root !== undefined ? { root } : {}),
    env: ctx.env,
    cwd: ctx.cwd,
    signal: ctx.signal,
    ...(ctx.globals.bool('debug') ? { debug: (line: string) => ctx.stderr.write(`DEBUG: ${line}\n`) } : {}),
  };
}

/** What `rm` and `prune` say when the build cache waits for running builds to finish. */
export function reportWait(ctx: CommandContext): (builds: number) => void {
  return (n) => ctx.stderr.write(`waiting for ${n} running build${n === 1 ? '' : 's'} to finish\n`);
}

/**
 * undici parses HTTP with llhttp compiled to WebAssembly; V8's optimising tier for it costs
 * about 35 MB of RSS per process and buys nothing measurable for registry traffic (bodies pass
 * through as slices). The CLI owns the process, so `main` asks V8 for the baseline compiler
 * only, just before undici loads (and so before the first request compiles the module).
 */
export function useBaselineWasm(): void {
  process.getBuiltinModule('node:v8').setFlagsFromString('--liftoff-only');
}
