/**
 * cli/create — `polyarch create [--name N] [--driver local] [--platform P,…] [--use]
 * [--bootstrap]`: a new builder instance with its own build cache, as `buildx create` makes
 * one. Prints the builder's name.
 */
import { BuilderStore, builderDrivers, generateBuilderName } from '../builder/index.js';
import { InvalidArgumentError } from '../errors.js';
import { formatPlatform, parsePlatformList } from '../platforms/index.js';
import type { Command } from './command.js';
import { rootDirOf } from './store-env.js';

export const createCommand: Command = {
  name: 'create',
  usage: '[OPTIONS]',
  short: 'Create a new builder instance',
  args: { max: 1 },
  flags: [
    { name: 'name', kind: 'string', usage: 'Builder instance name' },
    {
      name: 'driver',
      kind: 'string',
      usage: `Driver to use (available: ${builderDrivers.map((d) => `"${d}"`).join(', ')})`,
    },
    { name: 'platform', kind: 'stringArray', usage: 'Fixed platforms for current node' },
    { name: 'use', kind: 'bool', usage: 'Set the current builder instance' },
    { name: 'bootstrap', kind: 'bool', usage: 'Boot builder after creation' },
  ],
  examples: '  polyarch create --name mybuilder --use --bootstrap\n',
  async run(ctx, args, flags) {
    if (args.length > 0) {
      throw new InvalidArgumentError(
        `the local driver runs builds in this process and takes no endpoint (got "${args[0]}")`,
      );
    }
    const platforms = parsePlatformList(flags.list('platform')).map(formatPlatform);
    const builders = await BuilderStore.open(rootDirOf(ctx));
    let name = flags.string('name');
    if (name === undefined || name === '') {
      // a generated name no builder has yet, as buildx picks one
      const taken = new Set((await builders.list()).map((b) => b.name));
      name = Array.from({ length: 20 }, () => generateBuilderName()).find((n) => !taken.has(n));
      if (name === undefined)
        throw new InvalidArgumentError('could not pick a free builder name; give one with --name');
    }
    const driver = flags.string('driver');
    const b = await builders.create({
      name,
      ...(driver !== undefined ? { driver } : {}),
      platforms,
      use: flags.bool('use'),
    });
    if (flags.bool('bootstrap')) await builders.boot(b.name);
    ctx.stdout.write(`${b.name}\n`);
    return 0;
  },
};
