/** cli/use — `polyarch use NAME`: makes a builder instance the current one, as `buildx use` does. */
import { BuilderStore } from '../builder/index.js';
import type { Command } from './command.js';
import { rootDirOf } from './store-env.js';

export const useCommand: Command = {
  name: 'use',
  usage: 'NAME',
  short: 'Set the current builder instance',
  args: { min: 1, max: 1 },
  async run(ctx, args) {
    const builders = await BuilderStore.open(rootDirOf(ctx));
    await builders.use(args[0]!);
    return 0;
  },
};
