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
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args, flags) => {
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
};
