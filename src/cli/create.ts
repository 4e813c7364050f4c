/**
 * cli/create — `polyarch create [OPTIONS] [ENDPOINT]`: a new builder instance, or a node added
 * to one (`--append`), changed (`--node` naming one it has) or removed (`--leave`), as
 * `buildx create` does. A node is polyarch's own engine (`--driver local`, the default), a
 * BuildKit daemon (`--driver remote tcp://host:1234`) or a Docker engine's BuildKit
 * (`--driver docker unix:///var/run/docker.sock`). Prints the builder's name.
 */
import { createBuilder, leaveBuilder } from '../api/builders.js';
import type { Command } from './command.js';
import { apiContext } from './context.js';

export const createCommand: Command = {
  name: 'create',
  usage: '[OPTIONS] [ENDPOINT]',
  short: 'Create a new builder instance',
  args: { max: 1 },
  flags: [
    { name: 'append', kind: 'bool', usage: 'Append a node to builder instead of changing it' },
    { name: 'bootstrap', kind: 'bool', usage: 'Boot builder after creation' },
    {
      name: 'driver',
      kind: 'string',
      usage: 'Driver to use (available: "local", "remote", "docker")',
    },
    { name: 'driver-opt', kind: 'stringArray', usage: 'Options for the driver' },
    { name: 'leave', kind: 'bool', usage: 'Remove a node from builder instead of changing it' },
    { name: 'name', kind: 'string', usage: 'Builder instance name' },
    { name: 'node', kind: 'string', usage: 'Create/modify node with given name' },
    { name: 'platform', kind: 'stringArray', usage: 'Fixed platforms for current node' },
    { name: 'use', kind: 'bool', usage: 'Set the current builder instance' },
  ],
  examples: [
    '  polyarch create --name mybuilder --use --bootstrap',
    '  polyarch create --name fleet --node here --platform linux/amd64',
    '  polyarch create --append --name fleet --node armbox --platform linux/arm64 --driver remote tcp://armbox:1234',
    '  polyarch create --append --name fleet --node eng --driver docker unix:///var/run/docker.sock',
    '  polyarch create --leave --name fleet --node eng',
    '',
  ].join('\n'),
  async run(ctx, args, flags) {
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
  },
};
