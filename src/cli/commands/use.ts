/**
 * cli/commands/use — `polyarch use`: flags, arguments and help text. What it does is
 * cli/use, imported when the command runs.
 */
import type { Command } from '../command.js';

export const useCommand: Command = {
  name: 'use',
  usage: 'NAME',
  short: 'Set the current builder instance',
  args: { min: 1, max: 1 },
  run: async (ctx, args, flags) => (await import('../use.js')).run(ctx, args, flags),
};
