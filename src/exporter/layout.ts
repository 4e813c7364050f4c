/**
 * exporter/layout — an image from the local store as an OCI image layout (`type=oci`) or a
 * `docker load` archive (`type=docker`), as a tar stream or a directory, the way BuildKit
 * writes them through containerd's archive exporter:
 *
 * ```
 * blobs/sha256/<hex>   every blob of every platform (mode 0444)
 * index.json           the image's descriptor, once per name, with `io.containerd.image.name`
 *                      (the full name) and `org.opencontainers.image.ref.name` (the tag)
 * manifest.json        docker only: [{Config, RepoTags, Layers}] for the platform that best
 *                      matches the host (all platforms stay in the OCI part: Docker's
 *                      containerd image store loads them all, the classic store this one)
 * oci-layout           {"imageLayoutVersion":"1.0.0"}
 * repositories         docker only: {repo: {tag: image id}} of the older `docker save` format
 * ```
 *
 * Entries are sorted by name, owned by 0:0 and dated 0 (or SOURCE_DATE_EPOCH): the same image
 * gives the same bytes.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Provider } from '../content/interfaces.js';
import { childrenOf, parseManifest } from '../content/walk.js';
import { AnnotationContainerdImageName, AnnotationCreated, AnnotationRefName } from '../oci/annotations.js';
import { digestAlgorithm, digestHex } from '../oci/digest.js';
import { goJSONBytes } from '../oci/json.js';
import { isIndexType } from '../oci/mediatypes.js';
import type { Descriptor, ImageManifest, Platform } from '../oci/types.js';
import { platformMatcher } from '../platforms/index.js';
import { familiarName, familiarString, parseReference } from '../reference/index.js';
import type { TarWriteEntry } from '../tar/index.js';
import { epochToRFC3339 } from './image.js';

export interface LayoutOptions {
  store: Provider;
  /** the image: an index or a manifest */
  top: Descriptor;
  /** full normalised references */
  names: readonly string[];
  variant: 'oci' | 'docker';
  /** docker: the platform whose image manifest.json names */
  host: Platform;
  /** `index-descriptor` annotations: on the image's entries in index.json */
  descriptorAnnotations?: Record<string, string>;
  /** SOURCE_DATE_EPOCH: `org.opencontainers.image.created` of the entries, and the entries' mtime */
  sourceDateEpoch?: number;
}

/** A file of the layout: small ones inline, blobs read from the store when written. */
export interface LayoutFile {
  path: string;
  mode: number;
  size: number;
  data?: Buffer;
  blob?: Descriptor;
}

export interface Layout {
  files: LayoutFile[];
  /** the directories, parents first */
  dirs: string[];
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function blobPath(d: Descriptor): string {
  return `blobs/${digestAlgorithm(d.digest)}/${digestHex(d.digest)}`;
}

/** The tag part of a name, as containerd's `ociReferenceName`. */
function refName(name: string): string {
  const r = parseReference(name);
  return r.tag ?? (r.digest ? r.digest : name);
}

/** The entries of index.json for the image under each of its names. */
export function indexEntries(
  top: Descriptor,
  names: readonly string[],
  annotations: Record<string, string>,
): Descriptor[] {
  const base = { mediaType: top.mediaType, digest: top.digest, size: top.size };
  if (names.length === 0) {
    return [Object.keys(annotations).length ? { ...base, annotations: sortedRecord(annotations) } : base];
  }
  return names.map((n) => ({
    ...base,
    annotations: sortedRecord({
      ...annotations,
      [AnnotationContainerdImageName]: n,
      [AnnotationRefName]: refName(n),
    }),
  }));
}

/** Reads the image's blobs from the store and lays the files out (no I/O but reads). */
export async function planLayout(opts: LayoutOptions): Promise<Layout> {
  const { store, top } = opts;
  const blobs = new Map<string, Descriptor>();
  const add = (d: Descriptor) => {
    if (!blobs.has(d.digest)) blobs.set(d.digest, d);
  };
  add(top);
  const topBytes = await store.readBlob(top.digest);
  const parsed = parseManifest(topBytes, top.mediaType, top.digest);
  const images: { descriptor: Descriptor; manifest: ImageManifest }[] = [];
  const children = parsed.kind === 'index' ? parsed.index.manifests : [top];
  for (const m of children) {
    add(m);
    const mp =
      m === top
        ? parsed
        : parseManifest(await store.readBlob(m.digest), m.mediaType, `${top.digest}@${m.digest}`);
    if (mp.kind !== 'manifest') continue;
    images.push({ descriptor: m, manifest: mp.manifest });
    for (const c of childrenOf(mp)) add(c);
  }
  const created: Record<string, string> =
    opts.sourceDateEpoch !== undefined ? { [AnnotationCreated]: epochToRFC3339(opts.sourceDateEpoch) } : {};
  const files: LayoutFile[] = [];
  const algorithms = new Set<string>();
  for (const d of blobs.values()) {
    algorithms.add(digestAlgorithm(d.digest));
    files.push({ path: blobPath(d), mode: 0o444, size: d.size, blob: d });
  }
  const small = (path: string, mode: number, data: Buffer) =>
    files.push({ path, mode, size: data.length, data });
  small('oci-layout', 0o444, goJSONBytes({ imageLayoutVersion: '1.0.0' }));
  small(
    'index.json',
    0o644,
    goJSONBytes({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: indexEntries(top, opts.names, { ...created, ...opts.descriptorAnnotations }),
    }),
  );
  if (opts.variant === 'docker') {
    const chosen =
      (isIndexType(top.mediaType)
        ? platformMatcher(opts.host).best(images, (i) => i.descriptor.platform)
        : undefined) ?? images[0];
    if (chosen) {
      const tags = opts.names.map((n) => familiarString(parseReference(n)));
      small(
        'manifest.json',
        0o644,
        goJSONBytes([
          {
            Config: blobPath(chosen.manifest.config),
            RepoTags: tags.length ? tags : null,
            Layers: chosen.manifest.layers.map(blobPath),
          },
        ]),
      );
      const repos: Record<string, Record<string, string>> = {};
      for (const n of opts.names) {
        const r = parseReference(n);
        if (r.tag === undefined) continue;
        const repo = familiarName(r);
        repos[repo] = { ...repos[repo], [r.tag]: digestHex(chosen.manifest.config.digest) };
      }
      if (Object.keys(repos).length) small('repositories', 0o644, goJSONBytes(repos));
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, dirs: ['blobs', ...[...algorithms].sort().map((a) => `blobs/${a}`)] };
}

/** The layout as tar entries, sorted by name (directories first, as their names sort first). */
export async function* layoutTarEntries(
  store: Provider,
  layout: Layout,
  mtime = 0,
): AsyncGenerator<TarWriteEntry> {
  const entries: { path: string; entry: () => TarWriteEntry }[] = [
    ...layout.dirs.map((d) => ({
      path: `${d}/`,
      entry: (): TarWriteEntry => ({ header: { type: 'dir', path: `${d}/`, mode: 0o755, mtime } }),
    })),
    ...layout.files.map((f) => ({
      path: f.path,
      entry: (): TarWriteEntry => ({
        header: { type: 'file', path: f.path, mode: f.mode, size: f.size, mtime },
        body: f.data ?? blobBody(store, f.blob!),
      }),
    })),
  ];
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of entries) yield e.entry();
}

async function* blobBody(store: Provider, d: Descriptor): AsyncGenerator<Uint8Array> {
  yield* await store.openBlob(d.digest);
}

/** Writes the layout as a directory at `dir` (which exists and is empty). */
export async function writeLayoutDir(store: Provider, layout: Layout, dir: string): Promise<void> {
  for (const d of layout.dirs) await mkdir(join(dir, d), { recursive: true, mode: 0o755 });
  for (const f of layout.files) {
    const path = join(dir, f.path);
    if (f.data) {
      await writeFile(path, f.data, { mode: f.mode });
      continue;
    }
    await pipeline(await store.openBlob(f.blob!.digest), createWriteStream(path, { mode: f.mode }));
  }
}
