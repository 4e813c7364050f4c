/**
 * cli/commands/du — `polyarch du`: flags, arguments and help text. What it does is
 * cli/du, imported when the command runs.
 */
import type { Command } from '../command.js';

export const duCommand: Command = {
  name: 'du',
  short: 'Disk usage',
  args: { max: 0 },
  flags: [
    { name: 'filter', kind: 'stringArray', valueName: 'filter', usage: 'Provide filter values' },
    { name: 'verbose', kind: 'bool', usage: 'Provide a more verbose output' },
  ],
  run: async (ctx, args, flags) => (await import('../du.js')).run(ctx, args, flags),
};
