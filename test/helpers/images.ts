/**
 * test/helpers/images — reading what polyarch stored with independent tools: the local store
 * is an OCI image layout, so skopeo reads it as `oci:<root>/content:<ref name>`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageConfig, ImageIndex, ImageManifest } from '../../src/oci/types.js';

export function skopeo(args: string[]): string {
  return execFileSync('skopeo', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
}

/** The store's index.json entry name for a familiar name (`hello` → docker.io/library/hello:latest). */
export function storeRef(name: string): string {
  if (name.includes('/') && (name.split('/')[0]!.includes('.') || name.split('/')[0]!.includes(':'))) {
    return name.includes(':', name.lastIndexOf('/')) ? name : `${name}:latest`;
  }
  const full = name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
  return full.includes(':', full.lastIndexOf('/')) ? full : `${full}:latest`;
}

/** The image index stored under `name`, read with skopeo. */
export function storedIndex(root: string, name: string): ImageIndex {
  return JSON.parse(
    skopeo(['inspect', '--raw', `oci:${join(root, 'content')}:${storeRef(name)}`]),
  ) as ImageIndex;
}

/** The config of the image for `platform` stored under `name`, read with skopeo. */
export function storedConfig(root: string, name: string, platform: string): ImageConfig {
  const [os, arch, variant] = platform.split('/');
  const args = ['--override-os', os!, '--override-arch', arch!];
  if (variant) args.push('--override-variant', variant);
  return JSON.parse(
    skopeo([...args, 'inspect', '--config', '--raw', `oci:${join(root, 'content')}:${storeRef(name)}`]),
  ) as ImageConfig;
}

/** A blob of the store, parsed as JSON. */
export function storedBlobJSON<T = ImageManifest>(root: string, digest: string): T {
  return JSON.parse(
    readFileSync(join(root, 'content', 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8'),
  ) as T;
}

/** The store's index.json bytes (to check that a failed build left it as it was). */
export function storeIndexBytes(root: string): string {
  try {
    return readFileSync(join(root, 'content', 'index.json'), 'utf8');
  } catch {
    return '';
  }
}

/** The image names in the store's index.json (none for a store never written to). */
export function storedNames(root: string): string[] {
  const text = storeIndexBytes(root);
  if (!text) return [];
  const index = JSON.parse(text) as { manifests?: { annotations?: Record<string, string> }[] };
  return (index.manifests ?? []).map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '');
}
