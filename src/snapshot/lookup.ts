/**
 * snapshot/lookup — answering "is this path a directory in the image?" from a chain's layer
 * directories, without mounting the overlay that would show it.
 *
 * Only the certain case is answered: the topmost layer that has the path's first component
 * holds every component as a real directory (no symlink, no whiteout device). Layers above it
 * have nothing at that name, so nothing there hides or replaces it, and what a layer holds
 * itself is never hidden by its own opaque markers. Anything else (a component that is a
 * symlink, or that this layer lacks while lower ones might have it) is "not known", and the
 * caller mounts and looks. Overlay's opaque and redirect xattrs never need reading.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Whether `path` (absolute) is certainly a directory in the merged view of `layers` (layer
 * directories, topmost first). `false` means "no, or not known without a mount".
 */
export async function certainlyDir(layers: readonly string[], path: string): Promise<boolean> {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return false;
  if (parts.length === 0) return true;
  for (const layer of layers) {
    const first = await kindOf(join(layer, parts[0]!));
    if (first === 'none') continue;
    if (first !== 'dir') return false;
    for (let i = 2; i <= parts.length; i++) {
      if ((await kindOf(join(layer, ...parts.slice(0, i)))) !== 'dir') return false;
    }
    return true;
  }
  return false;
}

async function kindOf(p: string): Promise<'none' | 'dir' | 'other'> {
  try {
    return (await lstat(p)).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    // ENOTDIR and the like: not a plain answer, so not a certain one
    return 'other';
  }
}
