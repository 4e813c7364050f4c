/** cli/version — `polyarch version`: the build's name and version, as `buildx version` prints. */

import { detectHostPlatform } from '../platforms/host.js';
import { formatPlatform } from '../platforms/index.js';
import { polyarchVersion } from '../version.js';
import type { Command } from './command.js';

export const versionCommand: Command = {
  name: 'version',
  short: 'Show polyarch version information',
  args: { max: 0 },
  async run(ctx) {
    ctx.stdout.write(
      `polyarch ${polyarchVersion} node ${process.version} ${formatPlatform(detectHostPlatform())}\n`,
    );
    return 0;
  },
};
