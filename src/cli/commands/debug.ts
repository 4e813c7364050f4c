/**
 * cli/commands/debug — `polyarch debug` and its subcommands: flags, arguments and help text. What it does is
 * cli/debug, imported when the command runs.
 */
import type { Command } from '../command.js';

const parseCommand: Command = {
  name: 'parse',
  usage: 'FILE',
  short: "Print a Dockerfile's parse tree in BuildKit's dump format",
  long: "Print a Dockerfile's parse tree in BuildKit's dump format (one s-expression per\ninstruction). FILE may be - to read standard input. Parser warnings go to standard error.",
  args: { min: 1, max: 1 },
  run: async (ctx, args, flags) => (await import('../debug.js')).runParse(ctx, args, flags),
};

const checkStoreCommand: Command = {
  name: 'check-store',
  short:
    'Verify the local store: every blob matches its digest, every named image is complete, every cached result exists',
  args: { max: 0 },
  run: async (ctx, args, flags) => (await import('../debug.js')).runCheckStore(ctx, args, flags),
};

export const debugCommand: Command = {
  name: 'debug',
  short: 'Inspect how polyarch reads its inputs and keeps its state',
  group: 'management',
  subcommands: [parseCommand, checkStoreCommand],
};
