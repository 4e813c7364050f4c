/**
 * cli/stop — `polyarch stop [NAME]`: stops a builder instance (the current one by default), as
 * `buildx stop` does. A local builder has no daemon: it is marked stopped and boots again
 * with its next build.
 */
import { stopBuilder } from '../api/builders.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args) => {
  await stopBuilder(apiContext(ctx), args[0] ?? ctx.globals.string('builder'));
  return 0;
};
