/**
 * cli/commands/imagetools — `polyarch imagetools` and its subcommands: flags, arguments and help text. What it does is
 * cli/imagetools, imported when the command runs.
 */
import type { Command } from '../command.js';

const inspectCommand: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NAME',
  short: 'Show details of an image in the registry',
  long:
    'Show details of an image in the registry, laid out as buildx does.\n\n' +
    'With --local the image is read from the local store instead (by name or digest); there is\n' +
    'no fallback from one to the other.',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'raw', kind: 'bool', usage: 'Show original, unformatted JSON manifest' },
    {
      name: 'format',
      kind: 'string',
      usage:
        'Format the output using the given Go template (fields: .Name, .Manifest, .Image, .Provenance, .SBOM; funcs: json, index)',
    },
    { name: 'local', kind: 'bool', usage: 'Inspect the image in the local store instead of the registry' },
  ],
  run: async (ctx, args, flags) => (await import('../imagetools.js')).runInspect(ctx, args, flags),
};

const createCommand: Command = {
  name: 'create',
  usage: '[OPTIONS] [SOURCE...]',
  short: 'Create a new image based on source images',
  flags: [
    { name: 'tag', short: 't', kind: 'stringArray', usage: 'Set reference for new image' },
    { name: 'append', kind: 'bool', usage: 'Append to existing manifest' },
    { name: 'annotation', kind: 'stringArray', usage: 'Add annotation to the image' },
    { name: 'dry-run', kind: 'bool', usage: 'Show final image instead of pushing' },
  ],
  run: async (ctx, args, flags) => (await import('../imagetools.js')).runCreate(ctx, args, flags),
};

export const imagetoolsCommand: Command = {
  name: 'imagetools',
  short: 'Commands to work on images in registry',
  group: 'management',
  subcommands: [createCommand, inspectCommand],
};
