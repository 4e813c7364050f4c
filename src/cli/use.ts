/** cli/use — `polyarch use NAME`: makes a builder instance the current one, as `buildx use` does. */
import { useBuilder } from '../api/builders.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args) => {
  await useBuilder(apiContext(ctx), args[0]!);
  return 0;
};
