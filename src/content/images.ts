/**
 * content/images — local images as the engine and the commands see them: a name → its index or
 * manifest → one manifest per platform, with what of it is in the store.
 */
import { NotFoundError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from '../oci/types.js';
import { formatPlatform, normalizePlatform, type PlatformMatcher } from '../platforms/index.js';
import type { Provider } from './interfaces.js';
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

/** What `images` shows of a local image: its complete platforms and the bytes it holds. */
export async function imagePlatformsAndSize(
  provider: Provider,
  target: Descriptor,
  name: string,
): Promise<{ platforms: string[]; size: number }> {
  const img = await loadImage(provider, target, name);
  return { platforms: presentPlatforms(img), size: await imageSize(provider, img) };
}
