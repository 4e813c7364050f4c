/**
 * graph/cachekey — each op states its cache key explicitly: a sha256 of the canonical JSON of
 * exactly the fields that change its result, the keys of its inputs, and (for sources from the
 * build context) the content checksum of what it reads.
 */

import { type Digest, digestOf } from '../oci/digest.js';
import { canonicalJSON } from '../oci/json.js';
import { formatPlatform } from '../platforms/index.js';
import type { Op } from './ops.js';

/** Bump when the meaning of a result changes (layer format, op semantics). */
const cacheVersion = 1;

/** The op's own contribution to its key: its definition, minus anything that does not change the result. */
export function opDefinition(op: Op): unknown {
  switch (op.type) {
    case 'image':
      return { type: 'image', manifest: op.manifest.digest, platform: formatPlatform(op.platform) };
    case 'scratch':
      return { type: 'scratch' };
    case 'context':
      // the content checksums of what is read from it are added by the reading op
      return { type: 'context', name: op.name };
    case 'exec':
      return {
        type: 'exec',
        args: op.args,
        env: op.env,
        cwd: op.cwd,
        user: op.user,
        network: op.network,
        security: op.security,
        mounts: op.mounts,
        platform: formatPlatform(op.platform),
        hostname: op.hostname,
        extraHosts: op.extraHosts,
        output: op.output,
      };
    case 'file':
      return {
        type: 'file',
        actions: op.actions,
        platform: formatPlatform(op.platform),
        ...(op.keepEmpty ? { keepEmpty: true } : {}),
      };
  }
}

/**
 * The key: sha256 over { version, definition, input keys, content checksums }.
 * `contentChecksums[i]` is the checksum of what this op reads from input i when that input is
 * the build context (undefined otherwise: other inputs are covered by their keys).
 */
export function cacheKey(
  op: Op,
  inputKeys: readonly Digest[],
  contentChecksums: readonly (string | undefined)[] = [],
): Digest {
  return digestOf(
    canonicalJSON({
      v: cacheVersion,
      op: opDefinition(op),
      inputs: inputKeys,
      content: contentChecksums.some((c) => c !== undefined)
        ? contentChecksums.map((c) => c ?? null)
        : undefined,
    }),
  );
}
