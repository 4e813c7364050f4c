/**
 * cli/logout — `polyarch logout [SERVER]`: removes the stored credentials of a registry (from
 * its credential helper and config.json), as `docker logout`.
 */
import { credentialKey, normalizeServer } from '../registry/index.js';
import type { Command } from './command.js';
import { credentialsOf } from './store-env.js';

export const logoutCommand: Command = {
  name: 'logout',
  usage: '[SERVER]',
  short: 'Log out from a registry',
  long: 'Log out from a registry.\nIf no server is specified, the default is Docker Hub.',
  args: { max: 1 },
  async run(ctx, args) {
    const domain = normalizeServer(args[0] ?? 'docker.io');
    const found = await credentialsOf(ctx).erase(domain);
    const shown = credentialKey(domain);
    ctx.stdout.write(found ? `Removing login credentials for ${shown}\n` : `Not logged in to ${shown}\n`);
    return 0;
  },
};
