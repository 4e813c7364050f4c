/**
 * cli/logout — `polyarch logout [SERVER]`: removes the stored credentials of a registry (from
 * its credential helper and config.json), as `docker logout`.
 */
import { logout } from '../api/auth.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args) => {
  const { server, removed } = await logout(apiContext(ctx), { server: args[0] });
  ctx.stdout.write(removed ? `Removing login credentials for ${server}\n` : `Not logged in to ${server}\n`);
  return 0;
};
