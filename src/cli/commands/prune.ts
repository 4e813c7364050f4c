/**
 * cli/commands/prune — `polyarch prune`: flags, arguments and help text. What it does is
 * cli/prune, imported when the command runs.
 */
import type { Command } from '../command.js';

export const pruneCommand: Command = {
  name: 'prune',
  short: 'Remove build cache',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Include what named images share (all build cache)' },
    {
      name: 'filter',
      kind: 'stringArray',
      valueName: 'filter',
      usage: 'Provide filter values (e.g., "until=24h")',
    },
    {
      name: 'keep-storage',
      kind: 'string',
      valueName: 'bytes',
      usage: 'Amount of disk space to keep for cache',
    },
    {
      name: 'reserved-space',
      kind: 'string',
      valueName: 'bytes',
      usage: 'Amount of disk space always allowed to keep for cache',
    },
    { name: 'verbose', kind: 'bool', usage: 'Provide a more verbose output' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  run: async (ctx, args, flags) => (await import('../prune.js')).run(ctx, args, flags),
};
