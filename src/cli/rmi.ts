/**
 * cli/rmi — `polyarch rmi [-f] IMAGE…`: removes local image names (by name, or by digest or a
 * prefix of it), then collects the blobs no name, lease or the build cache reaches any more,
 * as `docker rmi` untags and deletes. A digest that several names share needs `-f`.
 */
import { removeImages } from '../api/images.js';
import { messageOf } from '../errors.js';
import { familiarString, parseReference } from '../reference/index.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args, flags) => {
  const { failed } = await removeImages(apiContext(ctx), {
    images: args,
    force: flags.bool('force'),
    noPrune: flags.bool('no-prune'),
    onEvent: (e) => {
      if (e.type === 'untagged') ctx.stdout.write(`Untagged: ${display(e.name)}\n`);
      else ctx.stdout.write(`Deleted: ${e.digest}\n`);
    },
  });
  for (const f of failed) ctx.stderr.write(`Error response: ${messageOf(f.error)}\n`);
  return failed.length ? 1 : 0;
};

function display(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}
