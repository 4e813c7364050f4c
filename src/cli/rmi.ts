/**
 * cli/rmi — `polyarch rmi [-f] IMAGE…`: removes local image names (by name, or by digest or a
 * prefix of it), then collects the blobs no name, lease or the build cache (builder/usage
 * `sweepContent`) reaches any more, as `docker rmi` untags and deletes. A digest that several names share needs `-f`.
 */
import { BuilderStore, sweepContent } from '../builder/index.js';
import type { ImageRecord } from '../content/index.js';
import { InvalidArgumentError, messageOf, PolyarchError } from '../errors.js';
import { familiarString, parseReference } from '../reference/index.js';
import { SnapshotStore } from '../snapshot/index.js';
import type { Command } from './command.js';
import { findLocalImages, openStoreOf, rootDirOf } from './store-env.js';

export const rmiCommand: Command = {
  name: 'rmi',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images from the local store',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Remove every name of an image given by digest' },
    { name: 'no-prune', kind: 'bool', usage: 'Do not delete the blobs the removed names leave unused' },
  ],
  async run(ctx, args, flags) {
    const store = await openStoreOf(ctx);
    const errors: string[] = [];
    try {
      const untag: ImageRecord[] = [];
      for (const arg of args) {
        try {
          const found = await findLocalImages(store, arg);
          if (found.length > 1 && !flags.bool('force')) {
            throw new InvalidArgumentError(
              `conflict: unable to delete ${arg} (must be forced) - image is referenced in multiple repositories`,
            );
          }
          untag.push(...found);
        } catch (err) {
          if (!(err instanceof PolyarchError)) throw err;
          errors.push(messageOf(err));
        }
      }
      const removed = await store.deleteNames([...new Set(untag.map((r) => r.name))]);
      for (const name of removed) ctx.stdout.write(`Untagged: ${display(name)}\n`);
      if (removed.length && !flags.bool('no-prune')) {
        // blobs the build cache still uses (layers of cached snapshots) stay
        const root = rootDirOf(ctx);
        const snapshots = await SnapshotStore.open({ root });
        const builders = await BuilderStore.open(root);
        const gc = await sweepContent({ builders, snapshots, content: store });
        const gone = new Set(gc.removed as string[]);
        const targets = new Set(untag.map((r) => r.target.digest as string));
        for (const d of targets) if (gone.has(d)) ctx.stdout.write(`Deleted: ${d}\n`);
      }
    } finally {
      await store.close();
    }
    for (const e of errors) ctx.stderr.write(`Error response: ${e}\n`);
    return errors.length ? 1 : 0;
  },
};

function display(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}
