/**
 * attest/supplement — what BuildKit adds to the core SBOM a scanner wrote about an image
 * (exporter/containerimage's supplementSBOM): each SPDX file without a comment gets
 * `layerID: <digest>`, the blob of the top-most layer that holds the file, and the creation
 * info names the builder as one more creating tool. Other statements pass unchanged.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../oci/digest.js';
import { type Attestation, PredicateSPDX } from './types.js';

/** A layer of the image: its directory (overlay form) and its blob's digest. */
export interface LayerDir {
  dir: string;
  digest: Digest;
}

/**
 * Finds the top-most layer holding a path, listing each layer's files only when a path is not
 * found in the layers above it (BuildKit's fileLayerFinder). Whiteouts are no files.
 */
export class LayerFileFinder {
  readonly #pending: LayerDir[];
  readonly #found = new Map<string, Digest>();

  /** `layers` bottom first, as the manifest lists them. */
  constructor(layers: readonly LayerDir[]) {
    this.#pending = [...layers];
  }

  async find(path: string): Promise<Digest | undefined> {
    const p = `/${path.replace(/^\/+/, '')}`;
    for (;;) {
      const known = this.#found.get(p);
      if (known) return known;
      const layer = this.#pending.pop();
      if (!layer) return undefined;
      for (const f of await listFiles(layer.dir)) if (!this.#found.has(f)) this.#found.set(f, layer.digest);
    }
  }
}

/** Every path under `dir` (`/a/b`), directories included, whiteouts left out. */
async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = `${rel}/${e.name}`;
    if (e.name.startsWith('.wh.')) continue;
    if (e.isCharacterDevice() && (await lstat(join(dir, path))).rdev === 0) continue;
    out.push(path);
    if (e.isDirectory()) out.push(...(await listFiles(dir, path)));
  }
  return out;
}

interface SPDXFile {
  fileName?: string;
  comment?: string;
}

interface SPDXDocument {
  files?: SPDXFile[];
  creationInfo?: { creators?: string[] };
}

/** The core SPDX statement's predicate with layer ids and `Tool: <tool>`; others as they are. */
export async function supplementSBOM(
  a: Attestation,
  finder: LayerFileFinder,
  tool: string,
): Promise<Attestation> {
  if (a.predicateType !== PredicateSPDX) return a;
  if ((a.path ?? '').split('/').at(-1)?.split('.')[0] !== 'sbom') return a;
  if (!a.predicate || typeof a.predicate !== 'object') return a;
  const doc = structuredClone(a.predicate) as SPDXDocument;
  for (const f of doc.files ?? []) {
    if (f.comment || !f.fileName) continue;
    const layer = await finder.find(f.fileName);
    if (layer) f.comment = `layerID: ${layer}`;
  }
  doc.creationInfo = {
    ...doc.creationInfo,
    creators: [...(doc.creationInfo?.creators ?? []), `Tool: ${tool}`],
  };
  return { ...a, predicate: doc };
}
