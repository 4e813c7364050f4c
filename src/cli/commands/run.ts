/**
 * cli/commands/run — `polyarch run`: flags, arguments and help text. What it does is
 * cli/run, imported when the command runs.
 */
import type { Command } from '../command.js';

export const runCommand: Command = {
  name: 'run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Run a command in a new container from an image of the local store',
  long: `Run a command in a new container from an image of the local store

The image is pulled first when the store does not have it for the platform. A platform the
host cannot run natively is emulated with QEMU (see "polyarch emulators"). The container's
filesystem is thrown away when the command ends; the command's exit code is polyarch's.`,
  interspersed: false,
  args: { min: 1 },
  flags: [
    {
      name: 'platform',
      kind: 'string',
      usage: 'Set platform if server is multi-platform capable',
      env: 'DOCKER_DEFAULT_PLATFORM',
    },
    {
      name: 'rm',
      kind: 'bool',
      usage: 'Automatically remove the container when it exits (always: polyarch keeps no containers)',
    },
    { name: 'entrypoint', kind: 'string', usage: 'Overwrite the default ENTRYPOINT of the image' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
    { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY (not supported yet)' },
    {
      name: 'user',
      short: 'u',
      kind: 'string',
      usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")',
    },
    { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
    { name: 'env', short: 'e', kind: 'stringArray', usage: 'Set environment variables', valueName: 'list' },
    {
      name: 'network',
      kind: 'string',
      usage: 'Connect a container to a network ("host" or "none")',
      default: 'host',
    },
    { name: 'hostname', kind: 'string', usage: 'Container host name' },
    { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to this container' },
    {
      name: 'volume',
      short: 'v',
      kind: 'stringArray',
      usage: 'Bind mount a volume (/host/path:/container/path[:ro])',
      valueName: 'list',
    },
    {
      name: 'pull',
      kind: 'string',
      usage: 'Pull image before running ("always", "missing", "never")',
      default: 'missing',
    },
  ],
  run: async (ctx, args, flags) => (await import('../run.js')).run(ctx, args, flags),
};
