/**
 * cli/commands/emulators — `polyarch emulators` and its subcommands: flags, arguments and help text. What it does is
 * cli/emulators, imported when the command runs.
 */
import type { Command, FlagSpec } from '../command.js';

const binfmtDirFlag: FlagSpec = {
  name: 'binfmt-dir',
  kind: 'string',
  usage: 'Directory where binfmt_misc is mounted',
  hidden: true,
};

const installCommand: Command = {
  name: 'install',
  usage: '[OPTIONS] PLATFORM [PLATFORM...] | all',
  short: 'Register QEMU emulators for platforms in binfmt_misc (needs root)',
  long:
    'Register QEMU emulators for platforms in binfmt_misc (needs root).\n\n' +
    "Handlers come from Debian's qemu-user-static (apt-get install qemu-user-static) and are\n" +
    'registered with the F flag so that they work inside containers. A handler for the same\n' +
    'binaries that would not work in a container is replaced. "all" installs every emulator\n' +
    'available for the platforms this host does not run natively.',
  flags: [
    {
      name: 'preserve-argv0',
      kind: 'bool',
      usage:
        "Register with the P flag: programs see the argv[0] they were started with (default: when Debian's -binfmt-P wrapper is installed)",
    },
    binfmtDirFlag,
  ],
  args: { min: 1 },
  examples: '  polyarch emulators install linux/arm64 linux/arm/v7\n  polyarch emulators install all\n',
  run: async (ctx, args, flags) => (await import('../emulators.js')).runInstall(ctx, args, flags),
};

const uninstallCommand: Command = {
  name: 'uninstall',
  usage: '[OPTIONS] PLATFORM [PLATFORM...] | all',
  short: 'Remove the QEMU emulators polyarch registers (qemu-<arch> handlers; needs root)',
  flags: [binfmtDirFlag],
  args: { min: 1 },
  run: async (ctx, args, flags) => (await import('../emulators.js')).runUninstall(ctx, args, flags),
};

export const emulatorsCommand: Command = {
  name: 'emulators',
  usage: '[OPTIONS] [COMMAND]',
  short: 'Show which platforms this host can run, natively or through QEMU',
  long:
    'Show which platforms this host can run: natively, through a binfmt_misc handler (QEMU user\n' +
    'emulation), or not at all, with the reason.',
  group: 'management',
  flags: [
    { name: 'format', kind: 'string', usage: 'Format the output: "table" or "json"', default: 'table' },
    {
      name: 'platform',
      kind: 'stringSlice',
      usage: 'Only these platforms (default: the common Linux platforms)',
    },
    binfmtDirFlag,
  ],
  subcommands: [installCommand, uninstallCommand],
  args: { max: 0 },
  run: async (ctx, args, flags) => (await import('../emulators.js')).runList(ctx, args, flags),
};
