/**
 * cli/push — `polyarch push NAME[:TAG]`: pushes a local image (a multi-platform index with
 * its manifests, or one manifest) to the registry its name points at, as `docker push` does.
 */
import { push } from '../api/images.js';
import { shortDigest } from '../oci/digest.js';
import { isLayerType } from '../oci/mediatypes.js';
import { familiarName, parseImageReference } from '../reference/index.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args, flags) => {
  const ref = parseImageReference(args[0]!);
  const quiet = flags.bool('quiet');
  const out = (s: string) => {
    if (!quiet) ctx.stdout.write(s);
  };
  const result = await push(apiContext(ctx), {
    image: args[0]!,
    onEvent: (e) => {
      if (e.type === 'resolved') out(`The push refers to repository [${familiarName(ref)}]\n`);
      if (e.type !== 'blob' || !isLayerType(e.descriptor.mediaType)) return;
      const id = shortDigest(e.descriptor.digest);
      if (e.status === 'exists') out(`${id}: Layer already exists\n`);
      else if (e.status === 'mounted') out(`${id}: Mounted from another repository\n`);
      else if (e.status === 'done') out(`${id}: Pushed\n`);
    },
  });
  const d = result.descriptor;
  out(`${ref.tag ?? ref.digest}: digest: ${d.digest} size: ${d.size}\n`);
  if (quiet) ctx.stdout.write(`${result.name}\n`);
  return 0;
};
