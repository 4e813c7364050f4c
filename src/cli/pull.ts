/**
 * cli/pull — `polyarch pull [--platform P | --all-platforms] [-q] NAME[:TAG|@DIGEST]`: pulls an
 * image from its registry into the local store, as `docker pull` does (and, past it, several
 * or all platforms of a multi-platform image at once).
 */
import { type PlatformSelection, pull } from '../api/images.js';
import { InvalidArgumentError } from '../errors.js';
import { shortDigest } from '../oci/digest.js';
import { isLayerType } from '../oci/mediatypes.js';
import { detectHostPlatform } from '../platforms/host.js';
import { parsePlatformList } from '../platforms/index.js';
import { formatReference, parseImageReference, parseReference } from '../reference/index.js';
import type { Command } from './command.js';
import { apiContext } from './context.js';

export const pullCommand: Command = {
  name: 'pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  short: 'Download an image from a registry into the local store',
  long:
    'Download an image from a registry into the local store.\n\n' +
    'By default the platform of this machine is pulled from a multi-platform image; --platform\n' +
    'takes one or more others (comma-separated), --all-platforms takes every one.\n\n' +
    "Credentials come from docker's config.json ($DOCKER_CONFIG or ~/.docker; see `polyarch login`).\n" +
    'Plain HTTP is used only for localhost, 127.0.0.0/8, ::1 and the registries listed in\n' +
    '$POLYARCH_INSECURE_REGISTRIES (comma-separated host[:port]).',
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'platform',
      kind: 'stringSlice',
      usage: "Set platform(s) to pull (default: this machine's)",
      valueName: 'string',
      env: 'DOCKER_DEFAULT_PLATFORM',
    },
    {
      name: 'all-platforms',
      short: 'a',
      kind: 'bool',
      usage: 'Pull all platforms of a multi-platform image',
    },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  examples:
    '  polyarch pull localhost:5000/busybox:1.35\n  polyarch pull --platform linux/arm64,linux/arm/v7 alpine\n',
  async run(ctx, args, flags) {
    const arg = args[0]!;
    const ref = parseImageReference(arg);
    const host = detectHostPlatform();
    if (flags.bool('all-platforms') && flags.given('platform') && flags.list('platform').length) {
      throw new InvalidArgumentError('--platform and --all-platforms cannot be used together');
    }
    const platforms: PlatformSelection | undefined = flags.bool('all-platforms')
      ? 'all'
      : flags.list('platform').length
        ? parsePlatformList(flags.list('platform'), host)
        : undefined;
    const quiet = flags.bool('quiet');
    const out = (s: string) => {
      if (!quiet) ctx.stdout.write(s);
    };
    if (parseReference(arg).tag === undefined && ref.digest === undefined)
      out(`Using default tag: ${ref.tag}\n`);
    out(`${ref.digest ?? ref.tag}: Pulling from ${ref.path}\n`);
    const result = await pull(apiContext(ctx), {
      image: arg,
      host,
      platforms,
      onEvent: (e) => {
        if (e.type !== 'blob' || !isLayerType(e.descriptor.mediaType)) return;
        if (e.status === 'exists') out(`${shortDigest(e.descriptor.digest)}: Already exists\n`);
        else if (e.status === 'done') out(`${shortDigest(e.descriptor.digest)}: Pull complete\n`);
      },
    });
    out(`Digest: ${result.descriptor.digest}\n`);
    const status = result.upToDate ? 'Image is up to date' : 'Downloaded newer image';
    out(`Status: ${status} for ${formatReference(ref)}\n`);
    ctx.stdout.write(`${result.name}\n`);
    return 0;
  },
};
