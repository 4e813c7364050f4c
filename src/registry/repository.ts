/**
 * registry/repository — the distribution spec's operations on one repository: manifests
 * (GET/HEAD/PUT with content negotiation, digests verified, raw bytes kept), blobs (HEAD,
 * resumable GET into a store writer, streaming GET for copies, cross-repository mount,
 * monolithic or chunked upload) and tag listing with pagination.
 *
 * A single request is retried by the transport. A whole made of requests and a body — a blob
 * fetched into memory or downloaded (resuming with `Range`), an upload session — sends its
 * requests once (`retry: false`) and is retried as a whole by `transport.withRetries`, so no
 * request is tried attempts × attempts times.
 */
import { createHash } from 'node:crypto';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import type { BlobWriter } from '../content/interfaces.js';
import { parseManifest } from '../content/walk.js';
import { DigestMismatchError, NotFoundError, RegistryError } from '../errors.js';
import { type Digest, digestAlgorithm, isDigest } from '../oci/digest.js';
import {
  MediaTypeDockerManifestV1Signed,
  MediaTypeImageIndex,
  manifestAcceptTypes,
} from '../oci/mediatypes.js';
import type { Descriptor, TagList } from '../oci/types.js';
import { repositoryScope } from './challenge.js';
import { describeErrorResponse } from './errors.js';
import {
  describeFailure,
  describeNetworkError,
  isRetryableStatus,
  isTemporary,
  TemporaryError,
} from './retry.js';
import {
  type HttpRequest,
  type HttpResponse,
  header,
  type RegistryTransport,
  retryAfterOf,
} from './transport.js';

/** Manifests larger than this are refused (distribution's own limit is 4 MiB). */
export const maxManifestBytes = 4 * 1024 * 1024;
/** Configs and other blobs read whole into memory are capped. */
export const maxInlineBlobBytes = 64 * 1024 * 1024;

/** Where an upload reads a blob's bytes from. */
export interface BlobSource {
  /** the bytes from `start` (default 0) to `end` (exclusive; default the end) */
  open(start?: number, end?: number): Promise<Readable>;
}

export type UploadOutcome = 'exists' | 'mounted' | 'uploaded';

export interface FetchedManifest {
  /** media type (from Content-Type or the JSON), digest computed over the bytes, size */
  descriptor: Descriptor;
  /** exactly as the registry sent them */
  bytes: Buffer;
}

export interface RepositoryOptions {
  /** upload in PATCH chunks of this size (0: one PUT with the whole blob) */
  chunkSize?: number;
}

const acceptHeader = [...manifestAcceptTypes, MediaTypeDockerManifestV1Signed].join(', ');

/** A body that ended before its announced size: a broken connection, worth another try. */
class ClosedEarlyError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

export class Repository {
  readonly transport: RegistryTransport;
  readonly domain: string;
  readonly path: string;
  readonly #chunkSize: number;

  constructor(transport: RegistryTransport, domain: string, path: string, opts: RepositoryOptions = {}) {
    this.transport = transport;
    this.domain = domain;
    this.path = path;
    this.#chunkSize = opts.chunkSize ?? 0;
  }

  /** `localhost:5000/busybox` */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  #send(req: Omit<HttpRequest, 'path'> & { path: string }): Promise<HttpResponse> {
    return this.transport.send(this.domain, req);
  }

  #pull(): string[] {
    return [repositoryScope(this.path, ['pull'])];
  }

  #push(): string[] {
    return [repositoryScope(this.path, ['pull', 'push'])];
  }

  /**
   * GETs a blob once (with `headers`, e.g. a `Range`): the caller retries it with its body.
   * The caller checks the status and reads the body.
   */
  #getBlob(desc: Descriptor, what: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return this.#send({
      method: 'GET',
      path: `/v2/${this.path}/blobs/${desc.digest}`,
      headers,
      scopes: this.#pull(),
      retry: false,
      what,
    });
  }

  /**
   * Throws what an unexpected answer means. A 429/5xx that was sent once is a TemporaryError,
   * for the whole that holds the request to try again; one the transport already retried says
   * how many times it was sent, and is final.
   */
  async #fail(res: HttpResponse, what: string): Promise<never> {
    const text = await readText(res);
    const detail = describeErrorResponse(res.status, text);
    if (res.status === 404) throw new NotFoundError(`${what}: not found: ${detail}`);
    const message = `${what}: ${this.domain} answered ${detail}`;
    if (isRetryableStatus(res.status)) {
      if (res.attempts === 1)
        throw new TemporaryError(message, { status: res.status, retryAfterMs: retryAfterOf(res.headers) });
      throw new RegistryError(`${message} (after ${res.attempts} attempts)`, { status: res.status });
    }
    throw new RegistryError(message, { status: res.status });
  }

  // ------------------------------------------------------------ manifests

  /** GETs a manifest or index by tag or digest; verifies its digest; keeps the bytes as sent. */
  async getManifest(
    reference: string,
    what = `fetching manifest ${this.name}${sep(reference)}${reference}`,
  ): Promise<FetchedManifest> {
    const res = await this.#send({
      method: 'GET',
      path: `/v2/${this.path}/manifests/${reference}`,
      headers: { accept: acceptHeader },
      scopes: this.#pull(),
      retry: true,
      what,
    });
    if (res.status !== 200) await this.#fail(res, what);
    let bytes: Buffer;
    try {
      bytes = await readCapped(res.body, maxManifestBytes, what);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw new RegistryError(`${what}: ${describeNetworkError(err)} from ${this.domain}`, { cause: err });
    }
    const alg = isDigest(reference) ? digestAlgorithm(reference as Digest) : 'sha256';
    const digest = `${alg}:${createHash(alg).update(bytes).digest('hex')}` as Digest;
    if (isDigest(reference) && digest !== reference) {
      throw new DigestMismatchError(`${what}: the registry sent a manifest with digest ${digest}`);
    }
    const announced = header(res, 'docker-content-digest');
    if (
      !isDigest(reference) &&
      announced &&
      isDigest(announced) &&
      announced.startsWith(`${alg}:`) &&
      announced !== digest
    ) {
      throw new DigestMismatchError(
        `${what}: the registry announced ${announced} but sent bytes with digest ${digest}`,
      );
    }
    const contentType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
    const parsed = parseManifest(
      bytes,
      contentType || undefined,
      `${this.name}${sep(reference)}${reference}`,
    );
    return { descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length }, bytes };
  }

  /** HEADs a manifest: its descriptor, or undefined when the registry does not have it. */
  async headManifest(
    reference: string,
    what = `checking manifest ${this.name}${sep(reference)}${reference}`,
  ): Promise<Descriptor | undefined> {
    const res = await this.#send({
      method: 'HEAD',
      path: `/v2/${this.path}/manifests/${reference}`,
      headers: { accept: acceptHeader },
      scopes: this.#pull(),
      retry: true,
      what,
    });
    await res.body.dump();
    if (res.status === 404) return undefined;
    if (res.status !== 200) await this.#fail(res, what);
    const digest = header(res, 'docker-content-digest');
    const size = Number.parseInt(header(res, 'content-length') ?? '', 10);
    const mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
    if (!digest || !isDigest(digest) || !Number.isFinite(size)) {
      // a registry that does not say: fall back to GET
      return (await this.getManifest(reference, what)).descriptor;
    }
    return { mediaType, digest, size };
  }

  /** PUTs manifest bytes under a tag or digest with their media type; answers the digest. */
  async putManifest(reference: string, bytes: Uint8Array, mediaType: string, what?: string): Promise<Digest> {
    const w = what ?? `pushing manifest ${this.name}${sep(reference)}${reference}`;
    const res = await this.#send({
      method: 'PUT',
      path: `/v2/${this.path}/manifests/${reference}`,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.byteLength) },
      body: bytes,
      scopes: this.#push(),
      retry: true,
      what: w,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) await this.#fail(res, w);
    await res.body.dump();
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    const announced = header(res, 'docker-content-digest');
    if (announced && isDigest(announced) && announced.startsWith('sha256:') && announced !== digest) {
      throw new DigestMismatchError(`${w}: the registry stored it as ${announced}, expected ${digest}`);
    }
    return digest;
  }

  /**
   * The OCI 1.1 referrers API: the manifests whose `subject` is `digest` (an index's
   * `manifests`), or undefined when the registry has no such API (it answers 404, as
   * registries before distribution-spec 1.1 do).
   */
  async getReferrers(
    digest: Digest,
    what = `listing the referrers of ${this.name}@${digest}`,
  ): Promise<Descriptor[] | undefined> {
    const res = await this.#send({
      method: 'GET',
      path: `/v2/${this.path}/referrers/${digest}`,
      headers: { accept: MediaTypeImageIndex },
      scopes: this.#pull(),
      retry: true,
      what,
    });
    if (res.status === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) await this.#fail(res, what);
    const bytes = await readCapped(res.body, maxManifestBytes, what);
    const type = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
    if (type !== MediaTypeImageIndex) return undefined; // not the API: some other page
    return (JSON.parse(bytes.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [];
  }

  // ------------------------------------------------------------ blobs

  async blobExists(digest: Digest, what = `checking blob ${digest} in ${this.name}`): Promise<boolean> {
    const res = await this.#send({
      method: 'HEAD',
      path: `/v2/${this.path}/blobs/${digest}`,
      scopes: this.#pull(),
      retry: true,
      what,
    });
    await res.body.dump();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.#fail(res, what);
  }

  /** A small blob (a config) as bytes, verified. */
  async fetchBlob(
    desc: Descriptor,
    what = `fetching blob ${desc.digest} from ${this.name}`,
  ): Promise<Buffer> {
    if (desc.size > maxInlineBlobBytes)
      throw new RegistryError(`${what}: ${desc.size} bytes is too large to read into memory`);
    return this.transport.withRetries(what, async () => {
      const res = await this.#getBlob(desc, what);
      if (res.status !== 200) await this.#fail(res, what);
      const bytes = await readCapped(res.body, desc.size, what);
      verifyBytes(bytes, desc, what);
      return bytes;
    });
  }

  /**
   * Downloads a blob into a store writer, resuming with `Range` after a broken connection when
   * the registry supports it (else starting over), and stages it (digest and size verified).
   */
  async downloadBlob(
    desc: Descriptor,
    writer: BlobWriter,
    onBytes?: (n: number) => void,
    what = `pulling blob ${desc.digest} from ${this.name}`,
  ): Promise<Descriptor> {
    return this.transport.withRetries(
      what,
      async () => {
        const start = writer.offset;
        const res = await this.#getBlob(desc, what, start > 0 ? { range: `bytes=${start}-` } : {});
        if (res.status !== 200 && res.status !== 206) await this.#fail(res, what);
        if (res.status === 200 && start > 0) {
          onBytes?.(-start);
          await writer.reset();
        } else if (res.status === 206) {
          const range = header(res, 'content-range') ?? '';
          const m = /^bytes (\d+)-/.exec(range);
          if (!m || Number(m[1]) !== start) {
            await res.body.dump();
            onBytes?.(-start);
            await writer.reset();
            throw new TemporaryError(
              `${what}: ${this.domain} answered bytes "${range}" when asked for ${start}-; starting over`,
            );
          }
        }
        try {
          for await (const chunk of res.body) {
            await writer.write(chunk as Buffer);
            onBytes?.((chunk as Buffer).length);
            if (writer.offset > desc.size) {
              throw new DigestMismatchError(
                `${what}: the registry sent more than the ${desc.size} bytes announced`,
              );
            }
          }
          if (writer.offset < desc.size) throw new ClosedEarlyError('the connection closed early');
          return await writer.stage();
        } catch (err) {
          res.body.destroy();
          if (isTemporary(err))
            this.transport.debug(`${what}: ${describeNetworkError(err)} at byte ${writer.offset}`);
          throw err;
        }
      },
      (err, tries) =>
        new RegistryError(
          `${describeFailure(what, err)} after ${tries} attempts (${writer.offset} of ${desc.size} bytes received)`,
          { cause: err },
        ),
    );
  }

  /**
   * A stream of a blob that fails at its end unless digest and size match (for copies). Its
   * GET is sent once: the upload that reads it is retried as a whole.
   */
  async openBlob(
    desc: Descriptor,
    what = `pulling blob ${desc.digest} from ${this.name}`,
  ): Promise<Readable> {
    const res = await this.#getBlob(desc, what);
    if (res.status !== 200) await this.#fail(res, what);
    const verify = verifyingStream(desc, what);
    pipeline(res.body, verify, () => {});
    return verify;
  }

  /**
   * Bytes `start` to `end` (exclusive) of a blob, by `Range` (unverified: a chunk of a larger
   * copy). Its GET is sent once: the upload that reads it is retried as a whole.
   */
  async openBlobRange(
    desc: Descriptor,
    start: number,
    end: number,
    what = `pulling blob ${desc.digest} from ${this.name}`,
  ): Promise<Readable> {
    const res = await this.#getBlob(desc, what, { range: `bytes=${start}-${end - 1}` });
    if (res.status !== 206) {
      if (res.status === 200) {
        await res.body.dump();
        throw new RegistryError(`${what}: ${this.domain} does not serve byte ranges`);
      }
      await this.#fail(res, what);
    }
    return res.body;
  }

  /** Mounts a blob from another repository of the same registry; the upload URL when it could not. */
  async #startUpload(
    desc: Descriptor,
    mountFrom: readonly string[],
    what: string,
  ): Promise<{ mounted: true } | { mounted: false; location: string }> {
    let location: string | undefined;
    for (const from of mountFrom) {
      if (from === this.path) continue;
      const mounting = `${what} (mounting from ${this.domain}/${from})`;
      const res = await this.#send({
        method: 'POST',
        path: `/v2/${this.path}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
        headers: { 'content-length': '0' },
        scopes: [...this.#push(), repositoryScope(from, ['pull'])],
        retry: false,
        what: mounting,
      });
      await res.body.dump();
      if (res.status === 201) return { mounted: true };
      if (res.status !== 202) await this.#fail(res, mounting);
      const loc = header(res, 'location');
      if (location) await this.#cancelUpload(location);
      location = loc;
    }
    if (location) return { mounted: false, location };
    const res = await this.#send({
      method: 'POST',
      path: `/v2/${this.path}/blobs/uploads/`,
      headers: { 'content-length': '0' },
      scopes: this.#push(),
      retry: false,
      what,
    });
    await res.body.dump();
    if (res.status !== 202) await this.#fail(res, what);
    const loc = header(res, 'location');
    if (!loc) throw new RegistryError(`${what}: ${this.domain} started an upload without a Location`);
    return { mounted: false, location: loc };
  }

  /** Cancels an upload session, once and best effort (the upload it is part of may be retried). */
  async #cancelUpload(location: string): Promise<void> {
    try {
      const res = await this.#send({
        method: 'DELETE',
        path: location,
        scopes: this.#push(),
        retry: false,
        what: 'cancelling an upload',
      });
      await res.body.dump();
    } catch {
      // best effort: registries expire abandoned uploads
    }
  }

  /**
   * Uploads a blob unless the repository has it: HEAD, then a mount from `mountFrom` (other
   * repositories of this registry that have it), then a monolithic PUT or PATCH chunks. The
   * session's requests are sent once; the whole session (POST, PATCHes, PUT) is started again
   * after a broken connection or a 429/5xx, at most `attempts` times in all.
   */
  async uploadBlob(
    desc: Descriptor,
    source: BlobSource,
    opts: { mountFrom?: readonly string[]; onBytes?: (n: number) => void; what?: string } = {},
  ): Promise<UploadOutcome> {
    const what = opts.what ?? `pushing blob ${desc.digest} to ${this.name}`;
    if (await this.blobExists(desc.digest, what)) return 'exists';
    return this.transport.withRetries(what, async (): Promise<UploadOutcome> => {
      let sent = 0;
      const count = (n: number) => {
        sent += n;
        opts.onBytes?.(n);
      };
      try {
        const start = await this.#startUpload(desc, opts.mountFrom ?? [], what);
        if (start.mounted) return 'mounted';
        if (this.#chunkSize > 0 && desc.size > this.#chunkSize)
          await this.#uploadChunks(desc, source, start.location, count, what);
        else await this.#uploadWhole(desc, source, start.location, count, what);
        return 'uploaded';
      } catch (err) {
        opts.onBytes?.(-sent);
        throw err;
      }
    });
  }

  async #uploadWhole(
    desc: Descriptor,
    source: BlobSource,
    location: string,
    count: (n: number) => void,
    what: string,
  ): Promise<void> {
    const open = async () => counting(await source.open(0, desc.size), count);
    const res = await this.#send({
      method: 'PUT',
      path: withQuery(location, 'digest', desc.digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: open,
      scopes: this.#push(),
      retry: false,
      what,
    });
    if (res.status !== 201 && res.status !== 204) await this.#fail(res, what);
    await res.body.dump();
  }

  async #uploadChunks(
    desc: Descriptor,
    source: BlobSource,
    location: string,
    count: (n: number) => void,
    what: string,
  ): Promise<void> {
    let loc = location;
    for (let offset = 0; offset < desc.size; offset += this.#chunkSize) {
      const end = Math.min(desc.size, offset + this.#chunkSize);
      const open = async () => counting(await source.open(offset, end), count);
      const res = await this.#send({
        method: 'PATCH',
        path: loc,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(end - offset),
          'content-range': `${offset}-${end - 1}`,
        },
        body: open,
        scopes: this.#push(),
        retry: false,
        what,
      });
      if (res.status !== 202) await this.#fail(res, what);
      await res.body.dump();
      loc = header(res, 'location') ?? loc;
    }
    const res = await this.#send({
      method: 'PUT',
      path: withQuery(loc, 'digest', desc.digest),
      headers: { 'content-length': '0' },
      scopes: this.#push(),
      retry: false,
      what,
    });
    if (res.status !== 201 && res.status !== 204) await this.#fail(res, what);
    await res.body.dump();
  }

  // ------------------------------------------------------------ tags

  /** Every tag, following `Link: <…>; rel="next"` pages. */
  async listTags(pageSize = 1000): Promise<string[]> {
    const what = `listing tags of ${this.name}`;
    const tags: string[] = [];
    let path: string | undefined = `/v2/${this.path}/tags/list?n=${pageSize}`;
    while (path) {
      const res = await this.#send({ method: 'GET', path, scopes: this.#pull(), retry: true, what });
      if (res.status !== 200) await this.#fail(res, what);
      const list = JSON.parse(await readText(res)) as TagList;
      tags.push(...(list.tags ?? []));
      path = nextLink(header(res, 'link'));
    }
    return tags;
  }
}

function sep(reference: string): string {
  return isDigest(reference) ? '@' : ':';
}

/** `stream` through a pass-through that reports each chunk's size. */
function counting(stream: Readable, count: (n: number) => void): Readable {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      count(chunk.length);
      cb(null, chunk);
    },
  });
  pipeline(stream, t, () => {});
  return t;
}

/** The next page from a `Link` header (`</v2/x/tags/list?n=2&last=b>; rel="next"`). */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/** `url` with `key=value` appended to its query (relative or absolute URLs). */
export function withQuery(url: string, key: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
}

async function readText(res: HttpResponse): Promise<string> {
  try {
    return (await readCapped(res.body, 64 * 1024, 'reading an error', true)).toString('utf8');
  } catch {
    return '';
  }
}

async function readCapped(
  body: AsyncIterable<unknown>,
  max: number,
  what: string,
  truncate = false,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    n += b.length;
    if (n > max) {
      if (truncate) {
        chunks.push(b);
        break;
      }
      throw new RegistryError(`${what}: more than ${max} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function verifyBytes(bytes: Buffer, desc: Descriptor, what: string): void {
  if (bytes.length !== desc.size)
    throw new DigestMismatchError(`${what}: expected ${desc.size} bytes, got ${bytes.length}`);
  const alg = digestAlgorithm(desc.digest);
  const actual = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
  if (actual !== desc.digest)
    throw new DigestMismatchError(`${what}: content has digest ${actual}, expected ${desc.digest}`);
}

/** A pass-through that errors at the end unless the bytes have the descriptor's digest and size. */
export function verifyingStream(desc: Descriptor, what: string): Transform {
  const alg = digestAlgorithm(desc.digest);
  const h = createHash(alg);
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      n += chunk.length;
      if (n > desc.size) {
        cb(new DigestMismatchError(`${what}: more than the ${desc.size} bytes announced`));
        return;
      }
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (n !== desc.size) {
        cb(new DigestMismatchError(`${what}: expected ${desc.size} bytes, got ${n}`));
        return;
      }
      const actual = `${alg}:${h.digest('hex')}`;
      cb(
        actual === desc.digest
          ? null
          : new DigestMismatchError(`${what}: content has digest ${actual}, expected ${desc.digest}`),
      );
    },
  });
}
