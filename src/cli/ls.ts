/**
 * cli/ls — `polyarch ls`: the builder instances and their nodes, as `buildx ls` lists them:
 *
 *     NAME/NODE        DRIVER/ENDPOINT                STATUS    BUILDKIT   PLATFORMS
 *     mybuilder*       local
 *      \_ mybuilder0    \_ /var/lib/polyarch/builders/…   running   v0.1.0     linux/amd64 (+4), linux/arm64, …
 *     default          local
 *      \_ default       \_ /var/lib/polyarch           running   v0.1.0     linux/amd64 (+4), …
 *
 * `*` marks the current builder. BUILDKIT is the engine's version; PLATFORMS lists configured
 * platforms (marked `*`), then what this host runs natively and through its emulators, folded
 * as buildx folds them unless `--no-trunc`.
 */
import { type DescribedBuilder, listBuilders, type NodeInfo, truncatePlatforms } from '../api/builders.js';
import { InvalidArgumentError } from '../errors.js';
import { tabwrite } from '../tabwriter.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

const indent = ' \\_ ';

/** The `ls` table. Pure over the builders and their nodes. */
export function formatBuilderTable(
  rows: readonly DescribedBuilder[],
  current: string,
  opts: { noTrunc?: boolean } = {},
): string {
  let text = 'NAME/NODE\tDRIVER/ENDPOINT\tSTATUS\tBUILDKIT\tPLATFORMS\n';
  for (const { builder, nodes } of rows) {
    text += `${builder.name}${builder.name === current ? '*' : ''}\t${builder.driver}\t\t\t\n`;
    for (const n of nodes) {
      const platforms = opts.noTrunc ? n.platforms.join(', ') : truncatePlatforms(n.platforms, 4);
      text += `${indent}${n.name}\t${indent}${n.endpoint}\t${n.status}\t${n.version}\t${platforms}\n`;
    }
  }
  return tabwrite(text, { minwidth: 10, padding: 3 });
}

/** What `ls` says on stderr of nodes it could not reach (buildx: "Failed to get status for …"). */
export function formatNodeErrors(rows: readonly DescribedBuilder[]): string {
  const lines = rows.flatMap(({ builder, nodes }) =>
    nodes
      .filter((n) => n.error !== undefined)
      .map((n) => `Failed to get status for ${builder.name} (${n.name}): ${n.error}\n`),
  );
  return lines.length ? `\n${lines.join('')}` : '';
}

function jsonNode(n: NodeInfo): Record<string, unknown> {
  return {
    Name: n.name,
    Endpoint: n.endpoint,
    Status: n.status,
    Version: n.version,
    Platforms: n.platforms,
    ...(n.error !== undefined ? { Err: n.error } : {}),
  };
}

export const run: CommandRun = async (ctx, _args, flags) => {
  const format = flags.string('format') ?? 'table';
  if (format !== 'table' && format !== 'json') {
    throw new InvalidArgumentError(`invalid --format "${format}": expected "table" or "json"`);
  }
  // `*` marks the builder `use` chose (buildx hides --builder for ls)
  const { current, builders } = await listBuilders(apiContext(ctx));
  if (format === 'json') {
    for (const { builder, nodes } of builders) {
      ctx.stdout.write(
        `${JSON.stringify({
          Name: builder.name,
          Driver: builder.driver,
          ...(builder.lastActivity ? { LastActivity: builder.lastActivity.toISOString() } : {}),
          Current: builder.name === current,
          Nodes: nodes.map(jsonNode),
        })}\n`,
      );
    }
    return 0;
  }
  ctx.stdout.write(formatBuilderTable(builders, current, { noTrunc: flags.bool('no-trunc') }));
  ctx.stderr.write(formatNodeErrors(builders));
  return 0;
};
