/**
 * cli/commands/images — `polyarch images`: flags, arguments and help text. What it does is
 * cli/images, imported when the command runs.
 */
import type { Command } from '../command.js';

export const imagesCommand: Command = {
  name: 'images',
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  short: 'List the images in the local store',
  args: { max: 1 },
  flags: [
    { name: 'format', kind: 'string', usage: 'Format the output: "table" or "json"', default: 'table' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image digests' },
  ],
  run: async (ctx, args, flags) => (await import('../images.js')).run(ctx, args, flags),
};
