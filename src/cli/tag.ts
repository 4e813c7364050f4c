/**
 * cli/tag — `polyarch tag SOURCE TARGET`: gives a local image another name, as `docker tag`.
 */
import { InvalidArgumentError } from '../errors.js';
import { parseImageReference } from '../reference/index.js';
import { localName } from '../registry/index.js';
import type { Command } from './command.js';
import { findLocalImage, openStoreOf } from './store-env.js';

export const tagCommand: Command = {
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { min: 2, max: 2 },
  async run(ctx, args) {
    const target = parseImageReference(args[1]!);
    if (target.digest)
      throw new InvalidArgumentError(`refusing to create a tag with a digest reference: "${args[1]}"`);
    const store = await openStoreOf(ctx);
    try {
      const source = await findLocalImage(store, args[0]!);
      await store.setName(localName(target), source.target);
    } finally {
      await store.close();
    }
    return 0;
  },
};
