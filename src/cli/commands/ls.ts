/**
 * cli/commands/ls — `polyarch ls`: flags, arguments and help text. What it does is
 * cli/ls, imported when the command runs.
 */
import type { Command } from '../command.js';

export const lsCommand: Command = {
  name: 'ls',
  short: 'List builder instances',
  args: { max: 0 },
  flags: [
    { name: 'format', kind: 'string', usage: 'Format the output: "table" or "json"', default: 'table' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
  ],
  run: async (ctx, args, flags) => (await import('../ls.js')).run(ctx, args, flags),
};
