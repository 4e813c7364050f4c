/**
 * cli/commands/version — `polyarch version`: flags, arguments and help text. What it does is
 * cli/version, imported when the command runs.
 */
import type { Command } from '../command.js';

export const versionCommand: Command = {
  name: 'version',
  short: 'Show polyarch version information',
  args: { max: 0 },
  run: async (ctx, args, flags) => (await import('../version.js')).run(ctx, args, flags),
};
