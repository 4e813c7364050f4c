/**
 * cli/logout — `polyarch logout [SERVER]`: removes the stored credentials of a registry (from
 * its credential helper and config.json), as `docker logout`.
 */
import { logout } from '../api/auth.js';
import type { Command } from './command.js';
import { apiContext } from './context.js';

export const logoutCommand: Command = {
  name: 'logout',
  usage: '[SERVER]',
  short: 'Log out from a registry',
  long: 'Log out from a registry.\nIf no server is specified, the default is Docker Hub.',
  args: { max: 1 },
  async run(ctx, args) {
    const { server, removed } = await logout(apiContext(ctx), { server: args[0] });
    ctx.stdout.write(removed ? `Removing login credentials for ${server}\n` : `Not logged in to ${server}\n`);
    return 0;
  },
};
