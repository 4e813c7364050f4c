/**
 * content/interfaces — the roles of a content store, small and composed (containerd's
 * core/content): read blobs (`Provider`), write them (`Ingester`), name images (`NameStore`),
 * protect what is in use (`Leaser`), and collect what is not (`Collector`).
 *
 * Blobs are addressed by digest. A blob is visible only once complete and verified; a writer
 * that dies leaves nothing a reader can see.
 */
import type { Readable, Writable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** Reads blobs. */
export interface Provider {
  /** digest and size, or undefined when the blob is not in the store */
  info(digest: Digest): Promise<BlobInfo | undefined>;
  has(digest: Digest): Promise<boolean>;
  /** the whole blob (for manifests, configs, indexes); NotFoundError when absent */
  readBlob(digest: Digest): Promise<Buffer>;
  /** a stream of the blob from byte `start` (default 0) to `end` (exclusive, default the end); NotFoundError when absent */
  openBlob(digest: Digest, opts?: { start?: number; end?: number }): Promise<Readable>;
  /** the file that holds the blob, for direct reads (it may not exist: check `has` first) */
  blobPath(digest: Digest): string;
}

/** What a written blob must be, when the caller knows. */
export interface Expected {
  digest: Digest;
  size: number;
}

export interface WriteOptions {
  mediaType: string;
  /** verified before the blob becomes visible: a mismatch is a DigestMismatchError */
  expected?: Expected;
  /** protects the blob from GC until the lease is released (default: the store's own lease) */
  lease?: Lease;
  /** extra descriptor fields for the returned descriptor (annotations, platform) */
  annotations?: Record<string, string>;
  /** what is being written, for error messages (`blob sha256:… of localhost:5000/busybox`) */
  what?: string;
}

/**
 * A blob being written: the digest is computed as bytes arrive. `stage()` verifies and syncs
 * the bytes without making them visible; `commit()` makes them visible (staging first if not
 * done). Several staged writers can be committed together so that a failed multi-blob
 * operation leaves the store as it was.
 */
export interface BlobWriter {
  /** bytes written so far (the offset to resume a download from) */
  readonly offset: number;
  /** appends bytes; resolves when the writer can take more (backpressure) */
  write(chunk: Uint8Array): Promise<void>;
  /** a Writable over `write`, for `pipeline(source, gzip, writer.stream)`; ends without committing */
  readonly stream: Writable;
  /** forgets what was written (a server that ignored a Range request sends the whole blob again) */
  reset(): Promise<void>;
  /** verifies digest and size against `expected`, fsyncs; returns the descriptor */
  stage(): Promise<Descriptor>;
  /** stages if needed, then moves the blob into place; returns the descriptor */
  commit(): Promise<Descriptor>;
  /** drops what was written; safe to call at any time, also after commit (then a no-op) */
  abort(): Promise<void>;
}

/** Writes blobs. */
export interface Ingester {
  /** writes `data` as a blob (a no-op when present); returns its descriptor */
  putBlob(data: Uint8Array, opts: WriteOptions): Promise<Descriptor>;
  /** writes a stream as a blob, hashing it on the way */
  ingest(source: Readable | AsyncIterable<Uint8Array>, opts: WriteOptions): Promise<Descriptor>;
  /** a writer to push bytes into */
  openWriter(opts: WriteOptions): Promise<BlobWriter>;
}

/** A named image: the `org.opencontainers.image.ref.name` of an index.json entry. */
export interface ImageRecord {
  /** the full normalised reference: `docker.io/library/busybox:latest` */
  name: string;
  /** the index or manifest it names (without the name annotations) */
  target: Descriptor;
}

/** Names of local images, kept in the layout's index.json. */
export interface NameStore {
  /** every name, sorted in byte order */
  listNames(): Promise<ImageRecord[]>;
  getName(name: string): Promise<ImageRecord | undefined>;
  /** sets or moves a name (other names are untouched) */
  setName(name: string, target: Descriptor): Promise<void>;
  /** removes names; answers those that existed */
  deleteNames(names: readonly string[]): Promise<string[]>;
}

/**
 * A lease protects blobs from garbage collection while its holder lives: a writer adds a
 * digest before the blob becomes visible, a reader before it checks that a blob exists.
 */
export interface Lease {
  readonly id: string;
  add(digests: Iterable<Digest>): Promise<void>;
  release(): Promise<void>;
}

export interface Leaser {
  createLease(): Promise<Lease>;
}

/** A root of garbage collection: a bare digest protects one blob; a descriptor of an index or manifest also protects what it references. */
export type GcRoot = Digest | Descriptor;

export interface GcOptions {
  /** more roots besides the named images and live leases (the build cache passes its blobs) */
  roots?: Iterable<GcRoot>;
  /**
   * compute what would be removed, remove nothing; without waiting for other writers (what it
   * reports is what a collection would remove at that moment)
   */
  dryRun?: boolean;
}

export interface GcResult {
  removed: Digest[];
  bytes: number;
}

export interface Collector {
  gc(opts?: GcOptions): Promise<GcResult>;
}

export interface CheckResult {
  /** true when nothing is wrong */
  ok: boolean;
  /** one line each: a blob whose bytes do not match its name, a name whose content is missing, … */
  problems: string[];
  /** partial writes of processes that died (harmless: never served, removed by the next writer) */
  leftovers: string[];
}

/** Everything the local store does. */
export interface ContentStore extends Provider, Ingester, NameStore, Leaser, Collector {
  /** the layout directory (`<root>/content`) */
  readonly dir: string;
  /** verifies every blob's digest and that every named image is complete */
  check(): Promise<CheckResult>;
  /** releases this process's lease and liveness token */
  close(): Promise<void>;
}
