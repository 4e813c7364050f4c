/** cli/run — `polyarch run [OPTIONS] IMAGE [COMMAND] [ARG...]`, docker run's flags that apply. */
import { runImage } from '../api/run.js';
import { InvalidArgumentError } from '../errors.js';
import { parsePlatform } from '../platforms/index.js';
import { type CommandRun, UsageError } from './command.js';

export const run: CommandRun = async (ctx, args, f) => {
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
};
