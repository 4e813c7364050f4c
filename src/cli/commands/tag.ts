/**
 * cli/commands/tag — `polyarch tag`: flags, arguments and help text. What it does is
 * cli/tag, imported when the command runs.
 */
import type { Command } from '../command.js';

export const tagCommand: Command = {
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { min: 2, max: 2 },
  run: async (ctx, args, flags) => (await import('../tag.js')).run(ctx, args, flags),
};
