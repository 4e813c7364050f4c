/**
 * cli/login — `polyarch login [-u USER] [-p PASS | --password-stdin] [SERVER]`: checks the
 * credentials against the registry (basic auth, or a token from its token server) and stores
 * them as `docker login` does: in the credential helper when `credsStore`/`credHelpers`
 * configure one, else base64 in config.json (`$DOCKER_CONFIG` or `~/.docker`). The password is
 * never printed.
 */
import { login } from '../api/auth.js';
import { InvalidArgumentError } from '../errors.js';
import type { CommandContext, CommandRun } from './command.js';
import { apiContext } from './context.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += chunk.toString();
  return s;
}

/** Reads a line from a TTY, without echo when `secret`. */
async function prompt(ctx: CommandContext, question: string, secret: boolean): Promise<string> {
  const input = ctx.stdin as NodeJS.ReadStream;
  ctx.stderr.write(question);
  const raw = secret && typeof input.setRawMode === 'function';
  if (raw) input.setRawMode(true);
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = '';
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            input.off('data', onData);
            input.pause();
            if (secret) ctx.stderr.write('\n');
            resolve(line);
            return;
          }
          if (ch === '\u0003') {
            input.off('data', onData);
            reject(new InvalidArgumentError('login cancelled'));
            return;
          }
          if (ch === '\u007f') line = line.slice(0, -1);
          else line += ch;
        }
      };
      input.on('data', onData);
      input.resume();
    });
  } finally {
    if (raw) input.setRawMode(false);
  }
}

export const run: CommandRun = async (ctx, args, flags) => {
  let username = flags.string('username');
  let password = flags.string('password');
  if (flags.bool('password-stdin')) {
    if (password !== undefined)
      throw new InvalidArgumentError('--password and --password-stdin are mutually exclusive');
    if (!username) throw new InvalidArgumentError('Must provide --username with --password-stdin');
    password = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  const interactive = (ctx.stdin as NodeJS.ReadStream).isTTY === true;
  if (!username) {
    if (!interactive)
      throw new InvalidArgumentError('Cannot perform an interactive login from a non TTY device');
    username = (await prompt(ctx, 'Username: ', false)).trim();
  }
  if (password === undefined) {
    if (!interactive)
      throw new InvalidArgumentError('Cannot perform an interactive login from a non TTY device');
    password = await prompt(ctx, 'Password: ', true);
  }
  const { stored } = await login(apiContext(ctx), { server: args[0], username, password });
  if (!stored.helper) {
    ctx.stderr.write(
      `WARNING! Your password will be stored unencrypted in ${stored.file}.\n` +
        'Configure a credential helper to remove this warning. See\n' +
        'https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n',
    );
  }
  ctx.stdout.write('Login Succeeded\n');
  return 0;
};
