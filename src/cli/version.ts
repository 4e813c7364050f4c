/** cli/version — `polyarch version`: the build's name and version, as `buildx version` prints. */

import { detectHostPlatform } from '../platforms/host.js';
import { formatPlatform } from '../platforms/index.js';
import { polyarchVersion } from '../version.js';
import type { CommandRun } from './command.js';

export const run: CommandRun = async (ctx) => {
  ctx.stdout.write(
    `polyarch ${polyarchVersion} node ${process.version} ${formatPlatform(detectHostPlatform())}\n`,
  );
  return 0;
};
