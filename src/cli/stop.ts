/**
 * cli/stop — `polyarch stop [NAME]`: stops a builder instance (the current one by default), as
 * `buildx stop` does. A local builder has no daemon: it is marked stopped and boots again
 * with its next build.
 */
import { stopBuilder } from '../api/builders.js';
import type { Command } from './command.js';
import { apiContext } from './context.js';

export const stopCommand: Command = {
  name: 'stop',
  usage: '[NAME]',
  short: 'Stop builder instance',
  args: { max: 1 },
  async run(ctx, args) {
    await stopBuilder(apiContext(ctx), args[0] ?? ctx.globals.string('builder'));
    return 0;
  },
};
