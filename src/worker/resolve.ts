/**
 * worker/resolve — `load metadata for …`: a base image name and a platform → the pinned
 * reference, the platform's manifest and its config. Names in the local store win unless
 * `--pull`; otherwise the registry is asked (tag → index → the best manifest for the platform
 * by containerd's matcher).
 */
import { type ImagePlatform, loadImage, readImageConfig, selectLocalPlatform } from '../content/index.js';
import { NotFoundError, PolyarchError } from '../errors.js';
import type { ResolvedImage } from '../graph/convert.js';
import { digestOf } from '../oci/digest.js';
import { isManifestType } from '../oci/mediatypes.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../oci/types.js';
import { formatPlatform, platformMatcher } from '../platforms/index.js';
import type { Progress } from '../progress/writer.js';
import { formatReference, parseImageReference, type Reference, withDigest } from '../reference/index.js';
import { indexPlatforms, type Resolved, resolve } from '../registry/index.js';
import type { Worker } from './worker.js';

export interface ResolveOptions {
  /** `--pull`: always ask the registry */
  pull: boolean;
  progress: Progress;
  /** several target platforms: the progress name carries the platform */
  multiPlatform: boolean;
  signal?: AbortSignal;
}

/** A memoising resolver for one build: each (name, platform) is resolved once. */
export function imageResolver(
  w: Worker,
  opts: ResolveOptions,
): (name: string, platform: Platform) => Promise<ResolvedImage> {
  const memo = new Map<string, Promise<ResolvedImage>>();
  // one registry round trip per name, whatever the number of platforms asked for
  const tags = new Map<string, Promise<Resolved>>();
  const lookup: Lookup = (ref) => {
    const key = formatReference(ref);
    let p = tags.get(key);
    if (!p) {
      p = resolve(w.registry, ref, `resolving ${key}`);
      tags.set(key, p);
    }
    return p;
  };
  return (name, platform) => {
    const key = `${name}\u0000${formatPlatform(platform)}`;
    let p = memo.get(key);
    if (!p) {
      p = resolveImage(w, name, platform, opts, lookup);
      memo.set(key, p);
    }
    return p;
  };
}

type Lookup = (ref: Reference) => Promise<Resolved>;

async function resolveImage(
  w: Worker,
  name: string,
  platform: Platform,
  opts: ResolveOptions,
  lookup: Lookup,
): Promise<ResolvedImage> {
  const ref = parseImageReference(name);
  const full = formatReference(ref);
  const label = `[${opts.multiPlatform ? `${formatPlatform(platform)} ` : ''}internal] load metadata for ${full}`;
  const v = opts.progress.vertex(digestOf(label), label);
  v.start();
  try {
    const r =
      (!opts.pull && (await fromLocalStore(w, ref, platform))) ||
      (await fromRegistry(w, ref, platform, lookup));
    v.complete();
    return r;
  } catch (err) {
    v.fail(err instanceof Error ? err.message : String(err));
    throw err;
  }
}

async function fromLocalStore(
  w: Worker,
  ref: Reference,
  platform: Platform,
): Promise<ResolvedImage | undefined> {
  const full = formatReference(ref);
  const named = ref.digest ? undefined : await w.content.getName(full);
  if (!named) return undefined;
  const img = await loadImage(w.content, named.target, full);
  let chosen: ImagePlatform;
  try {
    chosen = selectLocalPlatform(img, platformMatcher(platform), full, formatPlatform(platform));
  } catch {
    return undefined; // not complete here for this platform: ask the registry
  }
  const manifest = chosen.manifest!;
  const config = await readImageConfig(w.content, manifest);
  return {
    pinned: formatReference(withDigest(ref, named.target.digest)),
    manifest: chosen.descriptor,
    config,
    origin: 'local',
  };
}

async function fromRegistry(
  w: Worker,
  ref: Reference,
  platform: Platform,
  lookup: Lookup,
): Promise<ResolvedImage> {
  const full = formatReference(ref);
  const top = await lookup(ref);
  let manifestDesc: Descriptor;
  let manifest: ImageManifest;
  if (top.parsed.kind === 'index') {
    const index = top.parsed.index;
    const chosen = platformMatcher(platform).best(index.manifests, (d) => d.platform);
    if (!chosen) {
      throw new NotFoundError(
        `${full}: no match for platform ${formatPlatform(platform)} in the manifest list (it has ${indexPlatforms(index).join(', ') || 'no platforms'})`,
      );
    }
    manifestDesc = chosen;
    // a manifest is immutable: the copy in the store (from an earlier build) is as good
    let bytes: Buffer;
    if (await w.content.has(chosen.digest)) bytes = await w.content.readBlob(chosen.digest);
    else {
      const m = await w.registry
        .repository(ref)
        .getManifest(chosen.digest, `resolving ${full} for ${formatPlatform(platform)}`);
      await w.content.putBlob(m.bytes, {
        mediaType: chosen.mediaType,
        expected: { digest: chosen.digest, size: chosen.size },
      });
      bytes = m.bytes;
    }
    manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  } else {
    manifestDesc = top.descriptor;
    manifest = top.parsed.manifest;
    await w.content.putBlob(top.bytes, { mediaType: manifestDesc.mediaType });
  }
  if (!isManifestType(manifestDesc.mediaType) && !manifest.config) {
    throw new PolyarchError('UNSUPPORTED', `${full}: ${manifestDesc.mediaType} is not an image manifest`);
  }
  const config = await fetchConfig(w, ref, manifest);
  return {
    pinned: formatReference(withDigest(ref, top.descriptor.digest)),
    manifest: manifestDesc,
    config,
    origin: 'registry',
  };
}

async function fetchConfig(w: Worker, ref: Reference, manifest: ImageManifest): Promise<ImageConfig> {
  const d = manifest.config;
  if (!(await w.content.has(d.digest))) {
    const bytes = await w.registry
      .repository(ref)
      .fetchBlob(d, `fetching the config of ${formatReference(ref)}`);
    await w.content.putBlob(bytes, { mediaType: d.mediaType, expected: { digest: d.digest, size: d.size } });
  }
  return readImageConfig(w.content, manifest);
}
