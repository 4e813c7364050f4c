/**
 * cli/commands/rmi — `polyarch rmi`: flags, arguments and help text. What it does is
 * cli/rmi, imported when the command runs.
 */
import type { Command } from '../command.js';

export const rmiCommand: Command = {
  name: 'rmi',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images from the local store',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Remove every name of an image given by digest' },
    { name: 'no-prune', kind: 'bool', usage: 'Do not delete the blobs the removed names leave unused' },
  ],
  run: async (ctx, args, flags) => (await import('../rmi.js')).run(ctx, args, flags),
};
