/**
 * content/images — local images as the engine and the commands see them: a name → its index or
 * manifest → one manifest per platform, with what of it is in the store.
 */
import { NotFoundError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from '../oci/types.js';
import { formatPlatform, normalizePlatform, type PlatformMatcher } from '../platforms/index.js';
import {
  formatReference,
  parseImageReference,
  parseReference,
  type Reference,
  repositoryName,
} from '../reference/index.js';
import type { ImageRecord, NameStore, Provider } from './interfaces.js';
import { isAttestation, parseManifest } from './walk.js';

/** One platform's manifest of an image. */
export interface ImagePlatform {
  /** the manifest's descriptor (with `platform` when it came from an index) */
  descriptor: Descriptor;
  /** from the index entry, else from the config */
  platform: Platform | undefined;
  /** the parsed manifest, when its blob is in the store */
  manifest: ImageManifest | undefined;
  /** manifest, config and every layer are in the store */
  complete: boolean;
  /** an attestation or other non-runnable manifest (buildx's `unknown/unknown` entries) */
  attestation: boolean;
}

export interface LocalImage {
  target: Descriptor;
  /** the index, when the target is one */
  index: ImageIndex | undefined;
  manifests: ImagePlatform[];
}

/** Reads an image's index (if any), manifests and, for a lone manifest, the config's platform. */
export async function loadImage(
  provider: Provider,
  target: Descriptor,
  what: string = target.digest,
): Promise<LocalImage> {
  const parsed = parseManifest(await provider.readBlob(target.digest), target.mediaType, what);
  if (parsed.kind === 'manifest') {
    const config = await readConfig(provider, parsed.manifest.config.digest);
    const platform = config ? platformOfConfig(config) : undefined;
    return {
      target,
      index: undefined,
      manifests: [
        {
          descriptor: target,
          platform,
          manifest: parsed.manifest,
          complete: await isComplete(provider, parsed.manifest),
          attestation: false,
        },
      ],
    };
  }
  const manifests: ImagePlatform[] = [];
  for (const desc of parsed.index.manifests) {
    let manifest: ImageManifest | undefined;
    if (await provider.has(desc.digest)) {
      const child = parseManifest(
        await provider.readBlob(desc.digest),
        desc.mediaType,
        `${what} → ${desc.digest}`,
      );
      if (child.kind === 'manifest') manifest = child.manifest;
    }
    manifests.push({
      descriptor: desc,
      platform: desc.platform ? normalizePlatform(desc.platform) : undefined,
      manifest,
      complete: manifest !== undefined && (await isComplete(provider, manifest)),
      attestation: isAttestation(desc),
    });
  }
  return { target, index: parsed.index, manifests };
}

async function isComplete(provider: Provider, manifest: ImageManifest): Promise<boolean> {
  for (const d of [manifest.config, ...manifest.layers]) if (!(await provider.has(d.digest))) return false;
  return true;
}

async function readConfig(provider: Provider, digest: Digest): Promise<ImageConfig | undefined> {
  if (!(await provider.has(digest))) return undefined;
  try {
    return JSON.parse((await provider.readBlob(digest)).toString('utf8')) as ImageConfig;
  } catch {
    return undefined;
  }
}

export function platformOfConfig(config: Pick<ImageConfig, 'os' | 'architecture' | 'variant'>): Platform {
  return normalizePlatform({
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  });
}

/** Platforms whose image is wholly in the store, as `os/arch[/variant]`. */
export function presentPlatforms(img: LocalImage): string[] {
  return img.manifests
    .filter((m) => m.complete && !m.attestation && m.platform)
    .map((m) => formatPlatform(m.platform!));
}

/** Bytes of the distinct blobs of the image that are in the store (index, manifests, configs, layers). */
export async function imageSize(provider: Provider, img: LocalImage): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const add = async (d: Descriptor) => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const info = await provider.info(d.digest);
    if (info) total += info.size;
  };
  await add(img.target);
  for (const m of img.manifests) {
    await add(m.descriptor);
    if (m.manifest) for (const c of [m.manifest.config, ...m.manifest.layers]) await add(c);
  }
  return total;
}

/**
 * The manifest the matcher ranks best among those in the store. NotFoundError lists the
 * platforms there are when none matches.
 */
export function selectLocalPlatform(
  img: LocalImage,
  matcher: PlatformMatcher,
  name: string,
  wanted: string,
): ImagePlatform {
  const candidates = img.manifests.filter((m) => !m.attestation && m.complete);
  const best = matcher.best(candidates, (m) => m.platform);
  if (best) return best;
  const have = presentPlatforms(img);
  throw new NotFoundError(
    `no ${wanted} image of ${name} in the local store (it has ${have.length ? have.join(', ') : 'no complete platform'})`,
  );
}

/** The config of one platform's manifest (the engine's image source). */
export async function readImageConfig(provider: Provider, manifest: ImageManifest): Promise<ImageConfig> {
  const bytes = await provider.readBlob(manifest.config.digest);
  return JSON.parse(bytes.toString('utf8')) as ImageConfig;
}

/**
 * The local names that are image references, each with its reference (a name another tool
 * wrote into the layout that does not parse is left out).
 */
export async function namedImages(store: NameStore): Promise<{ record: ImageRecord; ref: Reference }[]> {
  const out: { record: ImageRecord; ref: Reference }[] = [];
  for (const record of await store.listNames()) {
    try {
      out.push({ record, ref: parseReference(record.name) });
    } catch {
      // not a reference
    }
  }
  return out;
}

/** What `images` shows of a local image: its complete platforms and the bytes it holds. */
export async function imagePlatformsAndSize(
  provider: Provider,
  target: Descriptor,
  name: string,
): Promise<{ platforms: string[]; size: number }> {
  const img = await loadImage(provider, target, name);
  return { platforms: presentPlatforms(img), size: await imageSize(provider, img) };
}

/** An image found by `findLocalImages`; `manifests` narrows it when an ID named some of its manifests. */
export interface LocalMatch {
  record: ImageRecord;
  /** how `arg` named it */
  by: 'name' | 'id';
  /** the manifests whose digest or config digest the ID named; undefined: the whole image */
  manifests?: ReadonlySet<Digest>;
}

const imageIdRe = /^(?:sha256:)?([a-f0-9]{4,64})$/;

/** The name a reference is stored under: `repo:tag`, or `repo@digest` when pinned. */
function storedName(arg: string): string | undefined {
  try {
    const ref = parseImageReference(arg);
    return ref.digest ? `${repositoryName(ref)}@${ref.digest}` : formatReference(ref);
  } catch {
    return undefined;
  }
}

/**
 * Finds local images by name (`busybox`, `localhost:5000/x:1`, `x@sha256:…`) or by ID, as
 * docker does: a digest or a prefix of at least 4 hex digits of an index, a manifest, or an
 * image config (what `build -q` and `--iidfile` print). Names first; an ID that names
 * different images is ambiguous. NotFoundError when nothing matches.
 */
export async function findLocalImages(store: Provider & NameStore, arg: string): Promise<LocalMatch[]> {
  const records = await store.listNames();
  const byName = storedName(arg);
  const named = records.find((r) => r.name === byName);
  if (named) return [{ record: named, by: 'name' }];
  const hex = imageIdRe.exec(arg)?.[1];
  if (hex) {
    const of = (d: Digest) => d.slice('sha256:'.length).startsWith(hex);
    const top = records.filter((r) => of(r.target.digest));
    if (top.length > 0 && new Set(top.map((r) => r.target.digest)).size === 1) {
      return top.map((record) => ({ record, by: 'id' as const }));
    }
    if (top.length === 0) {
      const found: LocalMatch[] = [];
      for (const record of records) {
        const img = await loadImage(store, record.target, record.name);
        const hits = img.manifests.filter(
          (m) => of(m.descriptor.digest) || (m.manifest !== undefined && of(m.manifest.config.digest)),
        );
        if (hits.length)
          found.push({ record, by: 'id', manifests: new Set(hits.map((m) => m.descriptor.digest)) });
      }
      const images = new Set(found.flatMap((f) => [...f.manifests!]));
      if (found.length > 0 && images.size === 1) return found;
    }
  }
  throw new NotFoundError(`No such image: ${arg}`);
}
