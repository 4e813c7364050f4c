/**
 * driver/buildkit/archive — images a BuildKit node made, brought into polyarch's content store
 * from the archive it sent: an OCI image layout tar (BuildKit's `oci` exporter; its blobs go
 * into the store as they are, each checked against its digest) or a `docker save` archive (a
 * Docker engine's images: uncompressed layer tars, compressed here as polyarch compresses its
 * own layers, with a manifest made for them). Either way the answer is one image per platform
 * whose manifest, config and layers are all in the store.
 */
import type { Readable } from 'node:stream';
import type { ContentStore } from '../../content/index.js';
import { StoreError } from '../../errors.js';
import { imageManifest } from '../../exporter/image.js';
import { type Digest, isDigest } from '../../oci/digest.js';
import { goJSONBytes } from '../../oci/json.js';
import { isIndexType, MediaTypeImageConfig } from '../../oci/mediatypes.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from '../../oci/types.js';
import { writeLayer } from '../../snapshot/diff.js';
import { readTar } from '../../tar/index.js';

/** One platform's image, everything it names in the content store. */
export interface ArchivedImage {
  platform: Platform;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

/** What reading the archive gathered before the images can be put together. */
interface Gathered {
  /** OCI layout: `index.json` */
  index?: ImageIndex;
  /** docker save: `manifest.json` */
  dockerManifest?: { Config: string; Layers: string[] }[];
  /** docker save: small JSON files by path (configs) */
  files: Map<string, Buffer>;
  /** docker save: layer tars by path, compressed into the store */
  layers: Map<string, { blob: Descriptor; diffID: Digest }>;
}

async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A blob of an OCI layout, stored when its bytes hash to its name. */
async function storeLayoutBlob(
  content: ContentStore,
  hex: string,
  size: number,
  body: AsyncIterable<Buffer>,
) {
  const digest = `sha256:${hex}`;
  if (!isDigest(digest)) return;
  await content.ingest(body, {
    mediaType: 'application/octet-stream',
    expected: { digest, size },
    what: `blob ${digest} of the node's OCI layout`,
  });
}

/** A `docker save` layer tar, compressed into the store. */
async function storeDockerLayer(content: ContentStore, path: string, body: AsyncIterable<Buffer>) {
  const writer = await content.openWriter({ mediaType: 'application/octet-stream', what: `layer ${path}` });
  try {
    const info = await writeLayer(body, writer.stream, {});
    const desc = await writer.commit();
    return { blob: { mediaType: info.mediaType, digest: desc.digest, size: desc.size }, diffID: info.diffID };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

async function gather(
  source: Readable | AsyncIterable<Uint8Array>,
  content: ContentStore,
): Promise<Gathered> {
  const g: Gathered = { files: new Map(), layers: new Map() };
  for await (const entry of readTar(source)) {
    const path = entry.header.path.toString('utf8').replace(/^\.\//, '');
    if (entry.header.type !== 'file') continue;
    const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path);
    if (blob) await storeLayoutBlob(content, blob[1]!, entry.header.size, entry.body);
    else if (path === 'index.json') g.index = JSON.parse((await readAll(entry.body)).toString('utf8'));
    else if (path === 'manifest.json')
      g.dockerManifest = JSON.parse((await readAll(entry.body)).toString('utf8'));
    else if (path.endsWith('/layer.tar'))
      g.layers.set(path, await storeDockerLayer(content, path, entry.body));
    else if (path.endsWith('.json')) g.files.set(path, await readAll(entry.body));
  }
  return g;
}

function platformOf(config: ImageConfig): Platform {
  return {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
}

async function readJSON<T>(content: ContentStore, d: Descriptor): Promise<T> {
  return JSON.parse((await content.readBlob(d.digest)).toString('utf8')) as T;
}

/** The images of an OCI layout's index, nested indexes followed. */
async function layoutImages(content: ContentStore, index: ImageIndex): Promise<ArchivedImage[]> {
  const out: ArchivedImage[] = [];
  for (const d of index.manifests) {
    if (d.mediaType && isIndexType(d.mediaType)) {
      out.push(...(await layoutImages(content, await readJSON<ImageIndex>(content, d))));
      continue;
    }
    const manifest = await readJSON<ImageManifest>(content, d);
    const config = await readJSON<ImageConfig>(content, manifest.config);
    // attestation manifests (unknown/unknown) are not images to run
    if (d.platform?.os === 'unknown') continue;
    out.push({ platform: d.platform ?? platformOf(config), manifestDescriptor: d, manifest, config });
  }
  return out;
}

/** The images of a `docker save` archive, with manifests made for their compressed layers. */
async function dockerImages(content: ContentStore, g: Gathered): Promise<ArchivedImage[]> {
  const out: ArchivedImage[] = [];
  for (const item of g.dockerManifest ?? []) {
    const bytes = g.files.get(item.Config);
    if (!bytes) throw new StoreError(`the node's image archive has no config ${item.Config}`);
    const config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    const layers = item.Layers.map((p) => {
      const l = g.layers.get(p);
      if (!l) throw new StoreError(`the node's image archive has no layer ${p}`);
      return l;
    });
    const configDesc = await content.putBlob(bytes, { mediaType: MediaTypeImageConfig });
    const manifest = imageManifest(
      configDesc,
      layers.map((l) => l.blob),
      { oci: true },
    );
    const stored = await content.putBlob(goJSONBytes(manifest), { mediaType: manifest.mediaType! });
    const manifestDescriptor = { mediaType: stored.mediaType, digest: stored.digest, size: stored.size };
    out.push({ platform: platformOf(config), manifestDescriptor, manifest, config });
  }
  return out;
}

/** Reads a node's image archive into the store; one image per platform it holds. */
export async function importImageArchive(
  source: Readable | AsyncIterable<Uint8Array>,
  content: ContentStore,
): Promise<ArchivedImage[]> {
  const g = await gather(source, content);
  if (g.index) return layoutImages(content, g.index);
  if (g.dockerManifest) return dockerImages(content, g);
  throw new StoreError("the node's image archive is neither an OCI layout nor a docker save archive");
}
