/**
 * cli/stop — `polyarch stop [NAME]`: stops a builder instance (the current one by default), as
 * `buildx stop` does. A local builder has no daemon: it is marked stopped and boots again
 * with its next build.
 */
import { BuilderStore } from '../builder/index.js';
import type { Command } from './command.js';
import { rootDirOf } from './store-env.js';

export const stopCommand: Command = {
  name: 'stop',
  usage: '[NAME]',
  short: 'Stop builder instance',
  args: { max: 1 },
  async run(ctx, args) {
    const builders = await BuilderStore.open(rootDirOf(ctx));
    const b = await builders.resolve(args[0] ?? ctx.globals.string('builder'));
    await builders.stop(b.name);
    return 0;
  },
};
