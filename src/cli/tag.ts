/**
 * cli/tag — `polyarch tag SOURCE TARGET`: gives a local image another name, as `docker tag`.
 */
import { tag } from '../api/images.js';
import type { Command } from './command.js';
import { apiContext } from './context.js';

export const tagCommand: Command = {
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { min: 2, max: 2 },
  async run(ctx, args) {
    await tag(apiContext(ctx), { source: args[0]!, target: args[1]! });
    return 0;
  },
};
