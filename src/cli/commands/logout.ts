/**
 * cli/commands/logout — `polyarch logout`: flags, arguments and help text. What it does is
 * cli/logout, imported when the command runs.
 */
import type { Command } from '../command.js';

export const logoutCommand: Command = {
  name: 'logout',
  usage: '[SERVER]',
  short: 'Log out from a registry',
  long: 'Log out from a registry.\nIf no server is specified, the default is Docker Hub.',
  args: { max: 1 },
  run: async (ctx, args, flags) => (await import('../logout.js')).run(ctx, args, flags),
};
