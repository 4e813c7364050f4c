/**
 * cli/tag — `polyarch tag SOURCE TARGET`: gives a local image another name, as `docker tag`.
 */
import { tag } from '../api/images.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args) => {
  await tag(apiContext(ctx), { source: args[0]!, target: args[1]! });
  return 0;
};
