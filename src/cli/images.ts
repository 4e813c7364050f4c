/**
 * cli/images — `polyarch images [REPOSITORY[:TAG]]`: the local images, one line per name, as
 * `docker images` lays them out, with the platforms each holds:
 *
 *     REPOSITORY               TAG    DIGEST         PLATFORMS                 SIZE
 *     localhost:5000/busybox   1.35   69f50f0000a8   linux/amd64, linux/arm64  2.1MB
 *
 * DIGEST is the index (or manifest) digest, short unless `--no-trunc`; PLATFORMS lists those
 * whose manifest, config and layers are all in the store; SIZE counts the distinct blobs of
 * the image that are in the store. `--format json` prints one JSON object a line.
 */

import { listImages } from '../api/images.js';
import { InvalidArgumentError } from '../errors.js';
import { type Digest, shortDigest } from '../oci/digest.js';
import { tabwrite } from '../tabwriter.js';
import { humanSize } from '../units.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

export const run: CommandRun = async (ctx, args, flags) => {
  const format = flags.string('format') ?? 'table';
  if (format !== 'table' && format !== 'json') {
    throw new InvalidArgumentError(`invalid --format "${format}": expected "table" or "json"`);
  }
  const rows = await listImages(apiContext(ctx), { filter: args[0] });
  const noTrunc = flags.bool('no-trunc');
  const id = (d: Digest) => (noTrunc ? d : shortDigest(d));
  if (flags.bool('quiet')) {
    const seen = new Set<string>();
    for (const r of rows) {
      if (!seen.has(r.digest)) ctx.stdout.write(`${id(r.digest)}\n`);
      seen.add(r.digest);
    }
    return 0;
  }
  if (format === 'json') {
    for (const r of rows) {
      ctx.stdout.write(
        `${JSON.stringify({
          Name: r.name,
          Repository: r.repository,
          Tag: r.tag,
          Digest: r.digest,
          ID: shortDigest(r.digest),
          MediaType: r.mediaType,
          Platforms: r.platforms,
          Size: humanSize(r.size, 3),
          SizeBytes: r.size,
        })}\n`,
      );
    }
    return 0;
  }
  let text = 'REPOSITORY\tTAG\tDIGEST\tPLATFORMS\tSIZE\n';
  for (const r of rows) {
    text += `${r.repository}\t${r.tag}\t${id(r.digest)}\t${r.platforms.join(', ') || '<none>'}\t${humanSize(r.size, 3)}\n`;
  }
  ctx.stdout.write(tabwrite(text, { minwidth: 10, padding: 3 }));
  return 0;
};
