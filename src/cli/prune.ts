/**
 * cli/prune — `polyarch prune [--all] [--filter until=24h] [--keep-storage SIZE] [--force]`:
 * removes a builder's build cache as `buildx prune` does: without `--all` only what is
 * dangling (what no named image shares), with filters only what matches, with
 * `--keep-storage` the least recently used first until the cache fits. Asks first unless
 * `--force`; prints each removed row and `Total:`. Waits for running builds to finish, and
 * never removes what a named image needs (content GC keeps what names and the remaining cache
 * reach).
 */
import { BuilderStore, parsePruneFilters, pruneCache } from '../builder/index.js';
import { openContentStore, rootLayout } from '../content/index.js';
import { nodePrune } from '../driver/buildkit/usage.js';
import { parseByteSize } from '../goparse.js';
import { SnapshotStore } from '../snapshot/index.js';
import { humanSize } from '../units.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { tabwriteTabs, usageListing } from './du.js';
import { rootDirOf } from './store-env.js';

const normalWarning =
  'WARNING! This will remove all dangling build cache. Are you sure you want to continue?';
const allCacheWarning = 'WARNING! This will remove all build cache. Are you sure you want to continue?';

/** docker's prompt: `MESSAGE [y/N] `, yes only for a line `y` or `Y` (EOF is no). */
async function confirm(
  stdin: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
  message: string,
): Promise<boolean> {
  stdout.write(`${message} [y/N] `);
  let line = '';
  for await (const chunk of stdin) {
    line += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const nl = line.indexOf('\n');
    if (nl >= 0) {
      line = line.slice(0, nl);
      break;
    }
  }
  const answer = line.trim();
  return answer === 'y' || answer === 'Y';
}

export const pruneCommand: Command = {
  name: 'prune',
  short: 'Remove build cache',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Include what named images share (all build cache)' },
    {
      name: 'filter',
      kind: 'stringArray',
      valueName: 'filter',
      usage: 'Provide filter values (e.g., "until=24h")',
    },
    {
      name: 'keep-storage',
      kind: 'string',
      valueName: 'bytes',
      usage: 'Amount of disk space to keep for cache',
    },
    {
      name: 'reserved-space',
      kind: 'string',
      valueName: 'bytes',
      usage: 'Amount of disk space always allowed to keep for cache',
    },
    { name: 'verbose', kind: 'bool', usage: 'Provide a more verbose output' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    const filters = parsePruneFilters(flags.list('filter'));
    let keepBytes: number | undefined;
    for (const name of ['keep-storage', 'reserved-space']) {
      const raw = flags.string(name);
      if (raw === undefined) continue;
      const n = parseByteSize(raw);
      if (n === undefined) {
        throw new UsageError(
          `invalid argument "${raw}" for "--${name}" flag: invalid size: '${raw}'`,
          ctx.commandPath,
        );
      }
      keepBytes = n;
    }
    const root = rootDirOf(ctx);
    const builders = await BuilderStore.open(root);
    const b = await builders.resolve(ctx.globals.string('builder'));
    const all = flags.bool('all');
    if (
      !flags.bool('force') &&
      !(await confirm(ctx.stdin, ctx.stdout, all ? allCacheWarning : normalWarning))
    ) {
      return 0;
    }
    const content = await openContentStore(rootLayout(root).content);
    try {
      const snapshots = await SnapshotStore.open({ root });
      const now = new Date();
      const prune = { all, ...filters, ...(keepBytes !== undefined ? { keepBytes } : {}), now };
      const local = b.nodes.some((n) => n.driver === 'local')
        ? await builders.exclusiveCache(
            () => pruneCache({ builder: b.name, builders, snapshots, content, prune }),
            {
              signal: ctx.signal,
              onWait: (n) =>
                ctx.stderr.write(`waiting for ${n} running build${n === 1 ? '' : 's'} to finish\n`),
            },
          )
        : { removed: [], total: 0 };
      // a BuildKit node prunes its own cache
      const remote = (
        await Promise.all(
          b.nodes.filter((n) => n.driver !== 'local').map((n) => nodePrune(b.name, n, prune, ctx.signal)),
        )
      ).flat();
      const result = {
        removed: [...local.removed, ...remote],
        total: local.total + remote.reduce((sum, i) => sum + Math.max(i.size, 0), 0),
      };
      if (result.removed.length > 0)
        ctx.stdout.write(usageListing(result.removed, now, flags.bool('verbose')));
      ctx.stdout.write(tabwriteTabs(`Total:\t${humanSize(result.total)}\n`));
    } finally {
      await content.close();
    }
    return 0;
  },
};
