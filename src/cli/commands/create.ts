/**
 * cli/commands/create — `polyarch create`: flags, arguments and help text. What it does is
 * cli/create, imported when the command runs.
 */
import type { Command } from '../command.js';

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
  run: async (ctx, args, flags) => (await import('../create.js')).run(ctx, args, flags),
};
