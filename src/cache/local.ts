/**
 * cache/local — `--cache-to type=local,dest=DIR` and `--cache-from type=local,src=DIR`: the
 * cache as an OCI image layout whose index names one manifest (config: the cache description,
 * layers: every layer blob it names). Blobs are written first, `index.json` last and durably,
 * so an export cut short leaves the previous cache readable.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Provider } from '../content/interfaces.js';
import { tempBeside, writeFileDurably } from '../durable.js';
import { NotFoundError } from '../errors.js';
import { type Digest, digestAlgorithm, digestHex, digestOf } from '../oci/digest.js';
import { goJSONBytes } from '../oci/json.js';
import { MediaTypeImageIndex, MediaTypeImageManifest } from '../oci/mediatypes.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/types.js';
import type { ImageSource } from '../registry/transfer.js';
import { ArtifactTypeCache, type CacheConfig, MediaTypeCacheConfig, parseCacheConfig } from './format.js';
import type { CacheSource } from './source.js';

function blobPath(dir: string, d: Digest): string {
  return join(dir, 'blobs', digestAlgorithm(d), digestHex(d));
}

/** The manifest that carries a cache description (config: the description; layers: every layer blob), as bytes. */
export function cacheBlobs(cfg: CacheConfig): {
  config: Descriptor;
  configBytes: Buffer;
  manifest: Descriptor;
  manifestBytes: Buffer;
} {
  const configBytes = goJSONBytes(cfg);
  const config: Descriptor = {
    mediaType: MediaTypeCacheConfig,
    digest: digestOf(configBytes),
    size: configBytes.length,
  };
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypeImageManifest,
    artifactType: ArtifactTypeCache,
    config,
    layers: cfg.layers.map((l) => l.blob),
  };
  const manifestBytes = goJSONBytes(m);
  const manifest: Descriptor = {
    mediaType: MediaTypeImageManifest,
    digest: digestOf(manifestBytes),
    size: manifestBytes.length,
    artifactType: ArtifactTypeCache,
  };
  return { config, configBytes, manifest, manifestBytes };
}

/**
 * The cache description a manifest carries, or undefined when its config is something else
 * (an image's). A description that does not parse is an Error saying what is wrong.
 */
export async function cacheConfigOf(
  manifestBytes: Uint8Array,
  readBlob: (d: Descriptor) => Promise<Uint8Array>,
): Promise<CacheConfig | undefined> {
  const manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as ImageManifest;
  if (manifest.config?.mediaType !== MediaTypeCacheConfig) return undefined;
  return parseCacheConfig(await readBlob(manifest.config));
}

/**
 * Writes the cache into the layout at `dir`, reusing blobs that are there already; a layer blob
 * the store lacks is copied from its place in `lazy` (a lazy layer's imported cache).
 */
export async function writeLocalCache(
  dir: string,
  cfg: CacheConfig,
  store: Provider,
  lazy: ReadonlyMap<Digest, ImageSource> = new Map(),
): Promise<Descriptor> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const copy = async (d: Digest, tmp: string): Promise<void> => {
    const origin = lazy.get(d);
    if (!origin || (await store.has(d))) return copyFile(store.blobPath(d), tmp);
    const blob = cfg.layers.find((l) => l.blob.digest === d)!.blob;
    await pipeline(await origin.blob(blob).open(), createWriteStream(tmp, { mode: 0o444 }));
  };
  const put = async (d: Digest, data?: Uint8Array): Promise<void> => {
    const path = blobPath(dir, d);
    if (await exists(path)) return;
    const tmp = tempBeside(path);
    try {
      if (data) await writeFile(tmp, data, { mode: 0o444 });
      else await copy(d, tmp);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };
  for (const l of cfg.layers) await put(l.blob.digest);
  const blobs = cacheBlobs(cfg);
  await put(blobs.config.digest, blobs.configBytes);
  const manifest = blobs.manifest;
  await put(manifest.digest, blobs.manifestBytes);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypeImageIndex, manifests: [manifest] };
  await writeFileDurably(join(dir, 'index.json'), goJSONBytes(index).toString('utf8'));
  return manifest;
}

/** The blobs of the layout at `dir` as a source (nothing to mount: they are files here). */
function layoutSource(dir: string, name: string): ImageSource {
  return {
    name,
    blob: (desc) => ({
      open: async (start, end) => {
        const path = blobPath(dir, desc.digest);
        if (!(await exists(path))) throw new NotFoundError(`${name}: blob ${desc.digest} is missing`);
        return createReadStream(path, {
          ...(start !== undefined ? { start } : {}),
          ...(end !== undefined ? { end: end - 1 } : {}),
        });
      },
    }),
    mountFrom: () => [],
  };
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * The cache in the layout at `dir` (the manifest `digest` when given: buildx's `digest=`), or
 * undefined when there is none (no `index.json`). A layout that holds no polyarch cache (or not
 * that one) is an Error naming what it holds.
 */
export async function readLocalCache(
  dir: string,
  name: string,
  digest?: Digest,
): Promise<CacheSource | undefined> {
  let indexText: string;
  try {
    indexText = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const index = JSON.parse(indexText) as ImageIndex;
  const read = (d: Digest) => readFile(blobPath(dir, d));
  for (const m of index.manifests ?? []) {
    if (m.mediaType !== MediaTypeImageManifest || (digest && m.digest !== digest)) continue;
    const config = await cacheConfigOf(await read(m.digest), (d) => read(d.digest));
    if (config) return { name, config, blobs: layoutSource(dir, name) };
  }
  if (digest && !index.manifests?.some((m) => m.digest === digest)) {
    throw new Error(`its index names no manifest ${digest}`);
  }
  const first = index.manifests?.[0];
  throw new Error(
    first
      ? `it holds ${first.mediaType} ${first.digest}, not a polyarch cache`
      : 'its index names no manifest',
  );
}
