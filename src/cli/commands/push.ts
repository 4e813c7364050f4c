/**
 * cli/commands/push — `polyarch push`: flags, arguments and help text. What it does is
 * cli/push, imported when the command runs.
 */
import type { Command } from '../command.js';

export const pushCommand: Command = {
  name: 'push',
  usage: '[OPTIONS] NAME[:TAG]',
  short: 'Upload an image from the local store to a registry',
  long:
    'Upload an image from the local store to a registry: every platform of a multi-platform image.\n\n' +
    'Blobs the registry has are skipped, blobs of another repository of the same registry are\n' +
    'mounted, the rest are uploaded; then the manifests, then the tag. Platforms not pulled\n' +
    'locally are copied from the registry the image came from.\n\n' +
    'Plain HTTP is used only for localhost, 127.0.0.0/8, ::1 and the registries listed in\n' +
    '$POLYARCH_INSECURE_REGISTRIES (comma-separated host[:port]).',
  args: { min: 1, max: 1 },
  flags: [{ name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' }],
  run: async (ctx, args, flags) => (await import('../push.js')).run(ctx, args, flags),
};
