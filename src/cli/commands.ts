/**
 * cli/commands — the typed registry of top-level commands. Adding a command is one entry here
 * and one file beside this one.
 */
import type { Command } from './command.js';
import { emulatorsCommand } from './emulators.js';
import { versionCommand } from './version.js';

export const commands = {
  emulators: emulatorsCommand,
  version: versionCommand,
} satisfies Record<string, Command>;
