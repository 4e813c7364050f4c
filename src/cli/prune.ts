/**
 * cli/prune — `polyarch prune [--all] [--filter until=24h] [--keep-storage SIZE] [--force]`:
 * removes a builder's build cache as `buildx prune` does: without `--all` only what is
 * dangling (what no named image shares), with filters only what matches, with
 * `--keep-storage` the least recently used first until the cache fits. Asks first unless
 * `--force`; prints each removed row and `Total:`. Waits for running builds to finish, and
 * never removes what a named image needs (content GC keeps what names and the remaining cache
 * reach).
 */
import { getBuilder } from '../api/builders.js';
import { parsePruneFilters, prune } from '../api/store.js';
import { parseByteSize } from '../goparse.js';
import { humanSize } from '../units.js';
import type { CommandRun } from './command.js';
import { UsageError } from './command.js';
import { apiContext, reportWait } from './context.js';
import { tabwriteTabs, usageListing } from './du.js';

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

export const run: CommandRun = async (ctx, _args, flags) => {
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
  // a builder that is not there fails before the question
  const api = apiContext(ctx);
  const b = await getBuilder(api, ctx.globals.string('builder'));
  const all = flags.bool('all');
  if (
    !flags.bool('force') &&
    !(await confirm(ctx.stdin, ctx.stdout, all ? allCacheWarning : normalWarning))
  ) {
    return 0;
  }
  const now = new Date();
  const result = await prune(api, {
    builder: b.name,
    all,
    filters,
    keepBytes,
    now,
    onWait: reportWait(ctx),
  });
  if (result.removed.length > 0) ctx.stdout.write(usageListing(result.removed, now, flags.bool('verbose')));
  ctx.stdout.write(tabwriteTabs(`Total:\t${humanSize(result.total)}\n`));
  return 0;
};
