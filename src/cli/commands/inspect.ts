/**
 * cli/commands/inspect — `polyarch inspect`: flags, arguments and help text. What it does is
 * cli/inspect, imported when the command runs.
 */
import type { Command } from '../command.js';

export const inspectCommand: Command = {
  name: 'inspect',
  usage: '[NAME]',
  short: 'Inspect current builder instance',
  args: { max: 1 },
  flags: [{ name: 'bootstrap', kind: 'bool', usage: 'Ensure builder has booted before inspecting' }],
  run: async (ctx, args, flags) => (await import('../inspect.js')).run(ctx, args, flags),
};
