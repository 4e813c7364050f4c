/**
 * cli/rm — `polyarch rm [--keep-state] [NAME...]`: removes builder instances (the current one
 * by default) and, unless `--keep-state`, their build cache: the records and cache mounts go
 * with the builder's directory, then the snapshots no builder's records name any more and
 * the blobs only they held. The built-in `default` cannot be removed. Every name is checked
 * before anything is removed.
 */
import { type Builder, BuilderStore, sweepUnreferenced } from '../builder/index.js';
import { openContentStore, rootLayout } from '../content/index.js';
import { InvalidArgumentError } from '../errors.js';
import { SnapshotStore } from '../snapshot/index.js';
import type { Command } from './command.js';
import { rootDirOf } from './store-env.js';

export const rmCommand: Command = {
  name: 'rm',
  usage: '[OPTIONS] [NAME] [NAME...]',
  short: 'Remove one or more builder instances',
  flags: [
    {
      name: 'keep-state',
      kind: 'bool',
      usage: 'Keep the build cache (a builder created with the same name uses it)',
    },
  ],
  async run(ctx, args, flags) {
    const root = rootDirOf(ctx);
    const builders = await BuilderStore.open(root);
    const names = args.length > 0 ? args : [(await builders.resolve(ctx.globals.string('builder'))).name];
    const targets: Builder[] = [];
    for (const n of names) {
      const b = await builders.get(n);
      if (b.isDefault)
        throw new InvalidArgumentError('default is the built-in builder and cannot be removed');
      targets.push(b);
    }
    const keepState = flags.bool('keep-state');
    const removeAll = async () => {
      for (const b of targets) {
        await builders.remove(b.name, { keepState });
        ctx.stderr.write(`${b.name} removed\n`);
      }
    };
    if (keepState) {
      await removeAll();
      return 0;
    }
    const content = await openContentStore(rootLayout(root).content);
    try {
      const snapshots = await SnapshotStore.open({ root });
      await builders.exclusiveCache(
        async () => {
          await removeAll();
          await sweepUnreferenced({ builders, snapshots, content });
        },
        {
          signal: ctx.signal,
          onWait: (n) => ctx.stderr.write(`waiting for ${n} running build${n === 1 ? '' : 's'} to finish\n`),
        },
      );
    } finally {
      await content.close();
    }
    return 0;
  },
};
