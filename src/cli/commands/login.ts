/**
 * cli/commands/login — `polyarch login`: flags, arguments and help text. What it does is
 * cli/login, imported when the command runs.
 */
import type { Command } from '../command.js';

export const loginCommand: Command = {
  name: 'login',
  usage: '[OPTIONS] [SERVER]',
  short: 'Log in to a registry',
  long: 'Log in to a registry.\nIf no server is specified, the default is Docker Hub.',
  args: { max: 1 },
  flags: [
    { name: 'username', short: 'u', kind: 'string', usage: 'Username' },
    { name: 'password', short: 'p', kind: 'string', usage: 'Password' },
    { name: 'password-stdin', kind: 'bool', usage: 'Take the password from stdin' },
  ],
  run: async (ctx, args, flags) => (await import('../login.js')).run(ctx, args, flags),
};
