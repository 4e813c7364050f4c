/**
 * cli/create — `polyarch create [OPTIONS] [ENDPOINT]`: a new builder instance, or a node added
 * to one (`--append`), changed (`--node` naming one it has) or removed (`--leave`), as
 * `buildx create` does. A node is polyarch's own engine (`--driver local`, the default), a
 * BuildKit daemon (`--driver remote tcp://host:1234`) or a Docker engine's BuildKit
 * (`--driver docker unix:///var/run/docker.sock`). Prints the builder's name.
 */
import { createBuilder, leaveBuilder } from '../api/builders.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args, flags) => {
  const bctx = apiContext(ctx);
  const name = flags.string('name');
  const node = flags.string('node');
  if (flags.bool('leave')) {
    await leaveBuilder(bctx, { ...(name ? { name } : {}), ...(node ? { node } : {}) });
    return 0;
  }
  const driver = flags.string('driver');
  const b = await createBuilder(bctx, {
    ...(name ? { name } : {}),
    ...(node ? { node } : {}),
    ...(driver ? { driver } : {}),
    ...(args[0] !== undefined ? { endpoint: args[0] } : {}),
    platforms: flags.list('platform'),
    driverOpts: flags.list('driver-opt'),
    append: flags.bool('append'),
    use: flags.bool('use'),
    bootstrap: flags.bool('bootstrap'),
  });
  ctx.stdout.write(`${b.name}\n`);
  return 0;
};
