/** cli/run — `polyarch run [OPTIONS] IMAGE [COMMAND] [ARG...]`, docker run's flags that apply. */
import { runImage } from '../api/run.js';
import { InvalidArgumentError } from '../errors.js';
import { parsePlatform } from '../platforms/index.js';
import { type Command, UsageError } from './command.js';

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
  async run(ctx, args, f) {
    let platform: ReturnType<typeof parsePlatform> | undefined;
    try {
      const p = f.string('platform');
      platform = p ? parsePlatform(p) : undefined;
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new UsageError(err.message, ctx.commandPath);
      throw err;
    }
    const network = f.string('network') ?? 'host';
    if (network !== 'host' && network !== 'none' && network !== 'default') {
      throw new UsageError(
        `invalid network "${network}": polyarch runs containers with "host" or "none"`,
        ctx.commandPath,
      );
    }
    if (f.bool('tty')) {
      throw new UsageError(
        'a pseudo-TTY (-t) is not supported yet; use -i to pass standard input',
        ctx.commandPath,
      );
    }
    const pull = f.string('pull') ?? 'missing';
    if (pull !== 'missing' && pull !== 'always' && pull !== 'never') {
      throw new UsageError(
        `invalid pull option: '${pull}': must be one of "always", "missing" or "never"`,
        ctx.commandPath,
      );
    }
    const root = ctx.globals.string('root');
    const entrypoint = f.given('entrypoint') ? (f.string('entrypoint') ?? '') : undefined;
    return runImage(
      {
        stdin: ctx.stdin,
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        env: ctx.env,
        signal: ctx.signal,
        ...(root ? { root } : {}),
      },
      {
        image: args[0]!,
        ...(platform ? { platform } : {}),
        args: args.slice(1),
        ...(entrypoint !== undefined ? { entrypoint } : {}),
        ...(f.string('user') !== undefined ? { user: f.string('user')! } : {}),
        ...(f.string('workdir') ? { workdir: f.string('workdir')! } : {}),
        env: f.list('env'),
        network: network === 'none' ? 'none' : 'host',
        privileged: f.bool('privileged'),
        ...(f.string('hostname') ? { hostname: f.string('hostname')! } : {}),
        volumes: f.list('volume'),
        pull,
        interactive: f.bool('interactive'),
      },
    );
  },
};
