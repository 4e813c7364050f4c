/**
 * exporter/push — a built image from the local store to its registry names (`--push`,
 * `type=image,push=true`, `type=registry`): every platform's manifest and blobs, then the
 * index, under each name. Blobs are uploaded once however many platforms or names share them
 * (the later names find them present). Reported as BuildKit does inside the export step:
 * `pushing layers`, then `pushing manifest for REF@sha256:…`. Layers a build took lazily from
 * an imported cache are mounted from the cache's repository on the same registry, else copied
 * from the cache, never fetched into the store.
 *
 * `checkPushAccess` asks the registry for push access before the build (an upload started and
 * cancelled), so that missing credentials are an error before anything is built.
 */
import type { ContentStore } from '../content/interfaces.js';
import { RegistryError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import type { VertexHandle } from '../progress/writer.js';
import { formatReference, parseReference, type Reference, withDigest } from '../reference/index.js';
import { repositoryScope } from '../registry/challenge.js';
import type { RegistryClient } from '../registry/client.js';
import { pushImage } from '../registry/push.js';
import { addReferrers, referrersTag } from '../registry/referrers.js';
import type { ImageSource } from '../registry/transfer.js';

export interface PushBuiltOptions {
  client: RegistryClient;
  store: ContentStore;
  top: Descriptor;
  /** full normalised references */
  names: readonly string[];
  /** `push-by-digest`: the manifest goes up under its digest only, no tag */
  byDigest?: boolean;
  /** manifests pushed after the image as OCI 1.1 referrers of theirs (`attestation-storage=referrers`) */
  referrers?: readonly { subject: Descriptor; manifest: Descriptor }[];
  /** layer blobs the store may lack and where they are (lazy layers: mounted or copied from there) */
  elsewhere?: ReadonlyMap<Digest, ImageSource>;
  progress?: VertexHandle;
}

/** Pushes the image to every name; answers the references pushed (`name@digest`). */
export async function pushBuilt(opts: PushBuiltOptions): Promise<string[]> {
  const pushed: string[] = [];
  for (const name of opts.names) {
    const named = parseReference(name);
    const ref: Reference = opts.byDigest
      ? { domain: named.domain, path: named.path, digest: opts.top.digest }
      : named;
    const layers = opts.progress?.status('pushing layers');
    await pushImage({
      client: opts.client,
      store: opts.store,
      source: opts.top,
      sourceName: name,
      ref,
      ...(opts.elsewhere ? { elsewhere: opts.elsewhere } : {}),
    });
    layers?.done();
    const full = formatReference(withDigest(ref, opts.top.digest));
    opts.progress?.status(`pushing manifest for ${full}`).done();
    if (opts.referrers?.length) await pushReferrers(opts, name, opts.referrers);
    pushed.push(full);
  }
  return pushed;
}

/**
 * Pushes each referrer by digest, then records it for its subject: the registry's referrers
 * API does that itself; without one, the `sha256-<hex>` fallback tag is updated.
 */
async function pushReferrers(
  opts: PushBuiltOptions,
  name: string,
  referrers: readonly { subject: Descriptor; manifest: Descriptor }[],
): Promise<void> {
  const named = parseReference(name);
  const repo = opts.client.repository(named);
  for (const r of referrers) {
    const ref: Reference = { domain: named.domain, path: named.path, digest: r.manifest.digest };
    await pushImage({ client: opts.client, store: opts.store, source: r.manifest, sourceName: name, ref });
    const how = await addReferrers(repo, r.subject.digest, [r.manifest]);
    const where = how === 'api' ? 'referrers API' : `tag ${referrersTag(r.subject.digest)}`;
    opts.progress
      ?.status(`pushing attestation ${r.manifest.digest} for ${r.subject.digest} (${where})`)
      .done();
  }
}

/**
 * Fails unless the registry of `name` would take a push: starts a blob upload (the request a
 * push starts with, needing push access) and cancels it.
 */
export async function checkPushAccess(client: RegistryClient, name: string): Promise<void> {
  const ref: Reference = parseReference(name);
  const what = `pushing ${formatReference(ref)}`;
  const scopes = [repositoryScope(ref.path, ['pull', 'push'])];
  const res = await client.transport.send(ref.domain, {
    method: 'POST',
    path: `/v2/${ref.path}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    scopes,
    retry: true,
    what,
  });
  const text = await res.body.text().catch(() => '');
  if (res.status !== 202) {
    throw new RegistryError(
      `${what}: ${ref.domain} answered HTTP ${res.status} to an upload: ${text.trim()}`,
      {
        status: res.status,
      },
    );
  }
  const location = res.headers['location'];
  if (typeof location !== 'string') return;
  try {
    const del = await client.transport.send(ref.domain, {
      method: 'DELETE',
      path: location,
      scopes,
      retry: true,
      what: `${what}: cancelling a check upload`,
    });
    await del.body.dump();
  } catch {
    // an upload left open expires on the registry; the check itself passed
  }
}
