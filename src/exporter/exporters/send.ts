/** exporter/exporters/send — a tarball to stdout (left open) or, crash-safely, to a file. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type TarWriteEntry, writeTar } from '../../tar/index.js';
import { writeFileAtomic } from '../dest.js';
import type { Destination } from '../outputs.js';

export async function sendTar(
  entries: AsyncIterable<TarWriteEntry>,
  dest: Destination,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const tar = () => Readable.from(writeTar(entries));
  if (dest.kind === 'stdout') await pipeline(tar(), stdout, { end: false });
  else await writeFileAtomic(dest.path, (w) => pipeline(tar(), w));
}
