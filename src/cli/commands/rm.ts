/**
 * cli/commands/rm — `polyarch rm`: flags, arguments and help text. What it does is
 * cli/rm, imported when the command runs.
 */
import type { Command } from '../command.js';

export const rmCommand: Command = {
  name: 'rm',
  usage: '[OPTIONS] [NAME] [NAME...]',
  short: 'Remove one or more builder instances',
  flags: [
    {
      name: 'keep-state',
      kind: 'bool',
      usage: 'Keep the build cache (a builder created with the same name uses it)',
    },
  ],
  run: async (ctx, args, flags) => (await import('../rm.js')).run(ctx, args, flags),
};
