/**
 * cli/commands — the typed registry of top-level commands. Adding a command is one entry here
 * and one file beside this one.
 */
import { buildCommand } from './build.js';
import type { Command } from './command.js';
import { debugCommand } from './debug.js';
import { emulatorsCommand } from './emulators.js';
import { versionCommand } from './version.js';

export const commands = {
  build: buildCommand,
  debug: debugCommand,
  emulators: emulatorsCommand,
  version: versionCommand,
} satisfies Record<string, Command>;
