/**
 * cli/inspect — `polyarch inspect [NAME] [--bootstrap]`: one builder instance in buildx's
 * layout (Name, Driver, Last Activity, then per node: Name, Endpoint, Status, BuildKit
 * version, Platforms, Labels). Without NAME: `--builder`, else the current builder.
 */
import { type Builder, inspectBuilder, type NodeInfo } from '../api/builders.js';
import { tabwrite } from '../tabwriter.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';
import { goTimeString } from './gotime.js';

/** The inspect text. Pure. */
export function formatInspect(b: Builder, nodes: readonly NodeInfo[]): string {
  let text = `Name:\t${b.name}\nDriver:\t${b.driver}\n`;
  if (b.lastActivity) {
    const seconds = new Date(Math.floor(b.lastActivity.getTime() / 1000) * 1000);
    text += `Last Activity:\t${goTimeString(seconds)}\n`;
  }
  text += '\nNodes:\n';
  nodes.forEach((n, i) => {
    if (i > 0) text += '\n';
    text += `Name:\t${n.name}\n`;
    if (n.driver !== b.driver) text += `Driver:\t${n.driver}\n`;
    text += `Endpoint:\t${n.endpoint}\n`;
    const opts = Object.entries(n.driverOpts ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    if (opts.length)
      text += `Driver Options:\t${opts.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\n`;
    text += `Status:\t${n.status}\n`;
    if (n.error !== undefined) text += `Error:\t${n.error}\n`;
    if (n.status === 'running') {
      if (n.version) text += `BuildKit version:\t${n.version}\n`;
      if (n.platforms.length) text += `Platforms:\t${n.platforms.join(', ')}\n`;
      const keys = Object.keys(n.labels).sort();
      if (keys.length) {
        text += 'Labels:\n';
        for (const k of keys) text += `\t${k}:\t${n.labels[k]}\n`;
      }
    } else {
      const configured = n.platforms.filter((p) => p.endsWith('*'));
      if (configured.length) text += `Platforms:\t${configured.join(', ')}\n`;
    }
  });
  return tabwrite(text, { padding: 1 });
}

export const run: CommandRun = async (ctx, args, flags) => {
  const name = args[0] ?? ctx.globals.string('builder');
  const { builder, nodes } = await inspectBuilder(apiContext(ctx), {
    ...(name ? { name } : {}),
    bootstrap: flags.bool('bootstrap'),
  });
  ctx.stdout.write(formatInspect(builder, nodes));
  return 0;
};
