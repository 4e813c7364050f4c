/**
 * cli/du — `polyarch du [--filter …] [--verbose]`: the disk usage of a builder's build cache,
 * as `buildx du` prints it (ID, RECLAIMABLE, SIZE, LAST ACCESSED, then `Shared:`,
 * `Private:`, `Reclaimable:` and `Total:`), laid out with Go's tabwriter padding with tabs.
 * The rows are the snapshots the builder's cache records name (a size includes the layer
 * blob only the cache holds), snapshots no record names, and its cache mounts; `*` after an
 * ID marks a mutable row (a cache mount), after a SIZE one shared with another builder.
 */
import { diskUsage, parsePruneFilters, type UsageItem } from '../api/store.js';
import { tabwrite } from '../tabwriter.js';
import { humanDuration, humanSize } from '../units.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';
import { goTimeString } from './gotime.js';

/** Go's text/tabwriter as buildx's du and prune use it: padchar '\t', minwidth 1, tabwidth 8, padding 1. */
export function tabwriteTabs(text: string): string {
  return tabwrite(text, { minwidth: 1, padding: 1, padchar: '\t', tabwidth: 8 });
}

export const usageTableHeader = 'ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n';

/** One table row as buildx prints it: `%-40s\t%-5v\t%-10s\t%s`. */
export function usageTableRow(i: UsageItem, now: Date): string {
  const id = `${i.id}${i.mutable ? '*' : ''}`;
  const size = `${humanSize(i.size)}${i.shared ? '*' : ''}`;
  const last = i.lastUsedAt ? `${humanDuration(now.getTime() - i.lastUsedAt.getTime())} ago` : '';
  return `${id.padEnd(40)}\t${String(!i.inUse).padEnd(5)}\t${size.padEnd(10)}\t${last}\n`;
}

/** The `--verbose` block of one row, as buildx's printVerbose. */
function usageVerbose(i: UsageItem, now: Date): string {
  let t = `ID:\t${i.id}\n`;
  if (i.parents.length) t += `Parent:\t${i.parents.join(',')}\n`;
  t += `Created at:\t${goTimeString(i.createdAt)}\n`;
  t += `Mutable:\t${i.mutable}\nReclaimable:\t${!i.inUse}\nShared:\t${i.shared}\n`;
  t += `Size:\t${humanSize(i.size)}\n`;
  if (i.description) t += `Description:\t${i.description}\n`;
  t += `Usage count:\t${i.usageCount}\n`;
  if (i.lastUsedAt) t += `Last used:\t${humanDuration(now.getTime() - i.lastUsedAt.getTime())} ago\n`;
  if (i.type) t += `Type:\t${i.type}\n`;
  return `${t}\n`;
}

/** The rows as buildx prints them: the table, or with `--verbose` a block per row. */
export function usageListing(items: readonly UsageItem[], now: Date, verbose: boolean): string {
  if (verbose) return tabwriteTabs(items.map((i) => usageVerbose(i, now)).join(''));
  return tabwriteTabs(usageTableHeader + items.map((i) => usageTableRow(i, now)).join(''));
}

/** The totals below the table. */
function usageSummary(items: readonly UsageItem[]): string {
  let total = 0;
  let reclaimable = 0;
  let shared = 0;
  for (const i of items) {
    if (i.size > 0) {
      total += i.size;
      if (!i.inUse) reclaimable += i.size;
    }
    if (i.shared) shared += i.size;
  }
  let t = '';
  if (shared > 0) t += `Shared:\t${humanSize(shared)}\nPrivate:\t${humanSize(total - shared)}\n`;
  t += `Reclaimable:\t${humanSize(reclaimable)}\nTotal:\t${humanSize(total)}\n`;
  return t;
}

export const run: CommandRun = async (ctx, _args, flags) => {
  const filters = parsePruneFilters(flags.list('filter'));
  const now = new Date();
  const items = await diskUsage(apiContext(ctx), { builder: ctx.globals.string('builder'), filters, now });
  ctx.stdout.write(usageListing(items, now, flags.bool('verbose')));
  if (flags.list('filter').length === 0) ctx.stdout.write(tabwriteTabs(usageSummary(items)));
  return 0;
};
