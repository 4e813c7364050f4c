/**
 * cli/commands/pull — `polyarch pull`: flags, arguments and help text. What it does is
 * cli/pull, imported when the command runs.
 */
import type { Command } from '../command.js';

export const pullCommand: Command = {
  name: 'pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  short: 'Download an image from a registry into the local store',
  long:
    'Download an image from a registry into the local store.\n\n' +
    'By default the platform of this machine is pulled from a multi-platform image; --platform\n' +
    'takes one or more others (comma-separated), --all-platforms takes every one.\n\n' +
    "Credentials come from docker's config.json ($DOCKER_CONFIG or ~/.docker; see `polyarch login`).\n" +
    'Plain HTTP is used only for localhost, 127.0.0.0/8, ::1 and the registries listed in\n' +
    '$POLYARCH_INSECURE_REGISTRIES (comma-separated host[:port]).',
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'platform',
      kind: 'stringSlice',
      usage: "Set platform(s) to pull (default: this machine's)",
      valueName: 'string',
      env: 'DOCKER_DEFAULT_PLATFORM',
    },
    {
      name: 'all-platforms',
      short: 'a',
      kind: 'bool',
      usage: 'Pull all platforms of a multi-platform image',
    },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  examples:
    '  polyarch pull localhost:5000/busybox:1.35\n  polyarch pull --platform linux/arm64,linux/arm/v7 alpine\n',
  run: async (ctx, args, flags) => (await import('../pull.js')).run(ctx, args, flags),
};
