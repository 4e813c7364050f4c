/**
 * cli/commands — the typed registry of top-level commands. Adding a command is one entry here,
 * its flags and help in a file beside this one (commands/NAME.ts), and what it does in
 * cli/NAME.ts, which the command's run imports when it runs: start-up and `--help` load the
 * tables only, never the library behind them.
 */

import type { Command } from '../command.js';
import { buildCommand } from './build.js';
import { createCommand } from './create.js';
import { debugCommand } from './debug.js';
import { duCommand } from './du.js';
import { emulatorsCommand } from './emulators.js';
import { imagesCommand } from './images.js';
import { imagetoolsCommand } from './imagetools.js';
import { inspectCommand } from './inspect.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { lsCommand } from './ls.js';
import { pruneCommand } from './prune.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { rmCommand } from './rm.js';
import { rmiCommand } from './rmi.js';
import { runCommand } from './run.js';
import { stopCommand } from './stop.js';
import { tagCommand } from './tag.js';
import { useCommand } from './use.js';
import { versionCommand } from './version.js';

export const commands = {
  build: buildCommand,
  create: createCommand,
  debug: debugCommand,
  du: duCommand,
  emulators: emulatorsCommand,
  images: imagesCommand,
  imagetools: imagetoolsCommand,
  inspect: inspectCommand,
  login: loginCommand,
  logout: logoutCommand,
  ls: lsCommand,
  prune: pruneCommand,
  pull: pullCommand,
  push: pushCommand,
  rm: rmCommand,
  rmi: rmiCommand,
  run: runCommand,
  stop: stopCommand,
  tag: tagCommand,
  use: useCommand,
  version: versionCommand,
} satisfies Record<string, Command>;
