/** cli/use — `polyarch use NAME`: makes a builder instance the current one, as `buildx use` does. */
import { useBuilder } from '../api/builders.js';
import type { Command } from './command.js';
import { apiContext } from './context.js';

export const useCommand: Command = {
  name: 'use',
  usage: 'NAME',
  short: 'Set the current builder instance',
  args: { min: 1, max: 1 },
  async run(ctx, args) {
    await useBuilder(apiContext(ctx), args[0]!);
    return 0;
  },
};
