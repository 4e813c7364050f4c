/**
 * cli/rm — `polyarch rm [--keep-state] [NAME...]`: removes builder instances (the current one
 * by default) and, unless `--keep-state`, their build cache: the records and cache mounts go
 * with the builder's directory, then the snapshots no builder's records name any more and
 * the blobs only they held. The built-in `default` cannot be removed. Every name is checked
 * before anything is removed.
 */
import { removeBuilders } from '../api/builders.js';
import type { CommandRun } from './command.js';
import { apiContext, reportWait } from './context.js';

export const run: CommandRun = async (ctx, args, flags) => {
  const builder = ctx.globals.string('builder');
  await removeBuilders(apiContext(ctx), {
    names: args.length > 0 ? args : builder ? [builder] : [],
    keepState: flags.bool('keep-state'),
    onRemoved: (name) => ctx.stderr.write(`${name} removed\n`),
    onWait: reportWait(ctx),
  });
  return 0;
};
