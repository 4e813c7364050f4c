/**
 * exporter/filesystem — the final file tree of a build (`type=local`, `type=tar`): each
 * platform's layer chain flattened into a plain tree, in a sub-directory named after the
 * platform (`linux_arm64`, `linux_arm_v7`) when several are built, as buildx's
 * `platform-split`. The tar form walks the flattened tree with the layer writer's walk (sorted
 * entries, numeric owners, whole-second mtimes clamped to SOURCE_DATE_EPOCH).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Attestation } from '../attest/types.js';
import type { Platform } from '../oci/types.js';
import { formatPlatform } from '../platforms/index.js';
import { upperDirEntries } from '../snapshot/diff.js';
import type { SnapshotStore } from '../snapshot/index.js';
import type { TarWriteEntry } from '../tar/index.js';
import { writeAttestationFiles } from './attestfiles.js';

/** One platform's result: its layer chain's top snapshot (undefined for an empty `FROM scratch`). */
export interface PlatformTree {
  platform: Platform;
  top?: string;
}

/** `linux/arm/v7` → `linux_arm_v7`, the directory buildx names a platform's tree. */
export function platformDirName(p: Platform): string {
  return formatPlatform(p).replace(/\//g, '_');
}

/**
 * Where each platform's tree goes inside the output: its directory, or `''` (the root) when
 * not split, where BuildKit lays the trees over each other (the later platform wins).
 */
export function splitDirs(trees: readonly PlatformTree[], split: boolean | undefined): string[] {
  const on = split ?? trees.length > 1;
  return trees.map((t) => (on ? platformDirName(t.platform) : ''));
}

/** Each platform's attestations, by its index in the trees (exporter/attestfiles writes them). */
export type TreeAttestations = (index: number) => Promise<readonly Attestation[]>;

/**
 * Flattens every platform's tree into `dir` (laid out by `splitDirs`), each followed by its
 * attestation files (named with the platform when the trees share one directory).
 */
export async function writeTrees(
  snapshots: SnapshotStore,
  trees: readonly PlatformTree[],
  dir: string,
  split: boolean | undefined,
  attestations?: TreeAttestations,
  mtime?: number,
): Promise<void> {
  const dirs = splitDirs(trees, split);
  for (const [i, t] of trees.entries()) {
    const dest = dirs[i] ? join(dir, dirs[i]!) : dir;
    await mkdir(dest, { recursive: true, mode: 0o755 });
    if (t.top !== undefined) await snapshots.flatten(await snapshots.mustGet(t.top), dest);
    const shared = !dirs[i] && trees.length > 1;
    await writeAttestationFiles(dest, (await attestations?.(i)) ?? [], {
      ...(shared ? { platformSuffix: platformDirName(t.platform) } : {}),
      ...(mtime !== undefined ? { mtime } : {}),
    });
  }
}

/**
 * The trees as tar entries: flattened into `scratch` (removed afterwards), then walked. With
 * several platforms split, each tree's entries sit under its directory.
 */
export async function* treeTarEntries(
  snapshots: SnapshotStore,
  trees: readonly PlatformTree[],
  scratch: string,
  opts: { split?: boolean; sourceDateEpoch?: number; attestations?: TreeAttestations },
): AsyncGenerator<TarWriteEntry> {
  const dirs = splitDirs(trees, opts.split);
  await mkdir(scratch, { recursive: true });
  try {
    for (const [i, t] of trees.entries()) {
      const tree = join(scratch, String(i));
      await rm(tree, { recursive: true, force: true });
      const shared = !dirs[i] && trees.length > 1;
      await writeTrees(snapshots, [t], tree, false);
      await writeAttestationFiles(tree, (await opts.attestations?.(i)) ?? [], {
        ...(shared ? { platformSuffix: platformDirName(t.platform) } : {}),
        ...(opts.sourceDateEpoch !== undefined ? { mtime: opts.sourceDateEpoch } : {}),
      });
      const prefix = dirs[i] ? Buffer.from(`${dirs[i]}/`) : undefined;
      const mtime = opts.sourceDateEpoch ?? 0;
      if (prefix) {
        yield { header: { type: 'dir', path: prefix, mode: 0o755, mtime } };
      }
      const walk = upperDirEntries(
        tree,
        opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {},
      );
      for await (const e of walk) {
        if (!prefix) {
          yield e;
          continue;
        }
        const h = e.header;
        yield {
          ...e,
          header: {
            ...h,
            path: Buffer.concat([prefix, Buffer.from(h.path)]),
            ...(h.type === 'hardlink' && h.linkpath !== undefined
              ? { linkpath: Buffer.concat([prefix, Buffer.from(h.linkpath)]) }
              : {}),
          },
        };
      }
      await rm(tree, { recursive: true, force: true });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
