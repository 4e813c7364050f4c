/**
 * cli/commands — the typed registry of top-level commands. Adding a command is one entry here
 * and one file beside this one.
 */
import type { Command } from './command.js';
import { imagesCommand } from './images.js';
import { imagetoolsCommand } from './imagetools.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { rmiCommand } from './rmi.js';
import { tagCommand } from './tag.js';
import { versionCommand } from './version.js';

export const commands = {
  version: versionCommand,
  pull: pullCommand,
  push: pushCommand,
  tag: tagCommand,
  images: imagesCommand,
  rmi: rmiCommand,
  imagetools: imagetoolsCommand,
  login: loginCommand,
  logout: logoutCommand,
} satisfies Record<string, Command>;
