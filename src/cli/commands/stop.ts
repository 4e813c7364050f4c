/**
 * cli/commands/stop — `polyarch stop`: flags, arguments and help text. What it does is
 * cli/stop, imported when the command runs.
 */
import type { Command } from '../command.js';

export const stopCommand: Command = {
  name: 'stop',
  usage: '[NAME]',
  short: 'Stop builder instance',
  args: { max: 1 },
  run: async (ctx, args, flags) => (await import('../stop.js')).run(ctx, args, flags),
};
