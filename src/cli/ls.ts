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
import {
  type Builder,
  BuilderStore,
  type NodeInfo,
  nodeInfo,
  truncatePlatforms,
  workerPlatforms,
} from '../builder/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { Platform } from '../oci/types.js';
import { tabwrite } from '../tabwriter.js';
import type { Command } from './command.js';
import { hostPlatformOf, rootDirOf } from './store-env.js';

const indent = ' \\_ ';

/** What a node shows before it booted: only what was configured. */
function shownNode(b: Builder, n: NodeInfo): NodeInfo {
  if (b.status === 'running') return n;
  return { ...n, version: '', platforms: n.platforms.filter((p) => p.endsWith('*')) };
}

/** The `ls` table. Pure over the builders and their nodes. */
export function formatBuilderTable(
  rows: readonly { builder: Builder; nodes: NodeInfo[] }[],
  current: string,
  opts: { noTrunc?: boolean } = {},
): string {
  let text = 'NAME/NODE\tDRIVER/ENDPOINT\tSTATUS\tBUILDKIT\tPLATFORMS\n';
  for (const { builder, nodes } of rows) {
    text += `${builder.name}${builder.name === current ? '*' : ''}\t${builder.driver}\t\t\t\n`;
    for (const raw of nodes) {
      const n = shownNode(builder, raw);
      const platforms = opts.noTrunc ? n.platforms.join(', ') : truncatePlatforms(n.platforms, 4);
      text += `${indent}${n.name}\t${indent}${n.endpoint}\t${n.status}\t${n.version}\t${platforms}\n`;
    }
  }
  return tabwrite(text, { minwidth: 10, padding: 3 });
}

export const lsCommand: Command = {
  name: 'ls',
  short: 'List builder instances',
  args: { max: 0 },
  flags: [
    { name: 'format', kind: 'string', usage: 'Format the output: "table" or "json"', default: 'table' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
  ],
  async run(ctx, _args, flags) {
    const format = flags.string('format') ?? 'table';
    if (format !== 'table' && format !== 'json') {
      throw new InvalidArgumentError(`invalid --format "${format}": expected "table" or "json"`);
    }
    const builders = await BuilderStore.open(rootDirOf(ctx));
    const host = hostPlatformOf();
    let detected: Platform[] | undefined;
    const supported = () => {
      detected ??= workerPlatforms(host);
      return detected;
    };
    const rows = (await builders.list()).map((builder) => ({
      builder,
      nodes: builder.nodes.map((n) => nodeInfo(builder, n, { host, supported })),
    }));
    // `*` marks the builder `use` chose (buildx hides --builder for ls)
    const current = { name: await builders.currentName() };
    if (format === 'json') {
      for (const { builder, nodes } of rows) {
        ctx.stdout.write(
          `${JSON.stringify({
            Name: builder.name,
            Driver: builder.driver,
            ...(builder.lastActivity ? { LastActivity: builder.lastActivity.toISOString() } : {}),
            Current: builder.name === current.name,
            Nodes: nodes.map((raw) => {
              const n = shownNode(builder, raw);
              return {
                Name: n.name,
                Endpoint: n.endpoint,
                Status: n.status,
                Version: n.version,
                Platforms: n.platforms,
              };
            }),
          })}\n`,
        );
      }
      return 0;
    }
    ctx.stdout.write(formatBuilderTable(rows, current.name, { noTrunc: flags.bool('no-trunc') }));
    return 0;
  },
};
