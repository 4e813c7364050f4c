/**
 * cli/commands — the typed registry of top-level commands. Adding a command is one entry here
 * and one file beside this one.
 */
import { buildCommand } from './build.js';
import type { Command } from './command.js';
import { debugCommand } from './debug.js';
import { emulatorsCommand } from './emulators.js';
import { imagesCommand } from './images.js';
import { imagetoolsCommand } from './imagetools.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { rmiCommand } from './rmi.js';
import { runCommand } from './run.js';
import { tagCommand } from './tag.js';
import { versionCommand } from './version.js';

export const commands = {
  build: buildCommand,
  debug: debugCommand,
  emulators: emulatorsCommand,
  images: imagesCommand,
  imagetools: imagetoolsCommand,
  login: loginCommand,
  logout: logoutCommand,
  pull: pullCommand,
  push: pushCommand,
  rmi: rmiCommand,
  run: runCommand,
  tag: tagCommand,
  version: versionCommand,
} satisfies Record<string, Command>;
