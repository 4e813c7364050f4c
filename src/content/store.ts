/**
 * content/store — the local content store: an OCI image layout on disk, safe against crashes
 * and against other polyarch processes using the same directory.
 *
 *     <root>/content/
 *       oci-layout               {"imageLayoutVersion":"1.0.0"}
 *       index.json               one entry per local image name (ref.name = full reference)
 *       blobs/sha256/<hex>       complete, verified blobs only
 *       ingest/<token>.<n>       blobs being written (never served)
 *       leases/<token>.<n>       digests a live process is using (one a line)
 *
 * Crash safety: a blob is written to `ingest/`, hashed as it arrives, fsynced, and renamed
 * into `blobs/` only when its digest and size are right; index.json is rewritten to a temp file
 * and renamed. A `kill -9` at any moment leaves either the old or the new state; partial files
 * in `ingest/` belong to a dead token and are removed by the next process that writes.
 *
 * Concurrency: index.json rewrites, lease additions and garbage collection take the store
 * lock (an abstract Unix socket, see lock.ts: released by the kernel when its holder dies).
 * Readers take no lock. GC never removes what a running process is writing (it is still in
 * `ingest/`) or is about to reference: such a process holds a lease and adds a digest to it
 * *before* the blob is renamed into place or *before* it checks that an existing blob is
 * there; GC holds the lock from reading the leases to the end of its sweep, so each addition
 * lands either before GC reads the leases (and protects the blob) or after GC is done. A lease
 * belongs to a liveness token: when its process dies, GC drops the lease.
 */
import type { Hash } from 'node:crypto';
// fs.promises loads node:fs/promises at its first call: `ls`, `images` and `du` make none on a store that exists
import { createReadStream, promises as fsp, mkdirSync, readFileSync, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { renameDurably, writeFileDurably } from '../durable.js';
import {
  DigestMismatchError,
  InvalidArgumentError,
  isErrno,
  messageOf,
  NotFoundError,
  StoreError,
} from '../errors.js';
import { AnnotationContainerdImageName, AnnotationRefName } from '../oci/annotations.js';
import { createHashOf, type Digest, digestAlgorithm, digestHex, isDigest } from '../oci/digest.js';
import { MediaTypeImageIndex } from '../oci/mediatypes.js';
import type { Descriptor, ImageIndex } from '../oci/types.js';
import { readdirOrNone, readFileOrEmpty } from '../smallfiles.js';
import type {
  BlobInfo,
  BlobWriter,
  CheckResult,
  ContentStore,
  GcOptions,
  GcResult,
  GcRoot,
  ImageRecord,
  Lease,
  WriteOptions,
} from './interfaces.js';
import {
  createLivenessToken,
  isAlive,
  type LivenessToken,
  type LockScope,
  lockScopeOf,
  withLock,
} from './lock.js';
import { childrenOf, isWalkable, parseManifest } from './walk.js';

export interface OpenStoreOptions {
  /** how long to wait for the store lock (default 10 minutes) */
  lockTimeoutMs?: number;
}

const storeLock = 'content';
/**
 * Bytes arriving while a write is under way go to the file together in the next one; past this
 * much queued, writers wait. Small enough that a pull of four large blobs at once holds a few
 * MB, large enough that each write moves a useful batch.
 */
const writeHighWater = 1024 * 1024;
const maxBuffersPerWrite = 512;

/** Opens (creating when missing) the OCI layout at `dir` as a content store. */
export async function openContentStore(dir: string, opts: OpenStoreOptions = {}): Promise<ContentStore> {
  try {
    // synchronous: each is a few microseconds of work that through the thread pool would wait
    // for a turn of it, at every command that opens the store
    for (const sub of [join('blobs', 'sha256'), 'ingest', 'leases']) {
      mkdirSync(join(dir, sub), { recursive: true });
    }
    await createIfMissing(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}', join(dir, 'ingest'));
    await createIfMissing(
      join(dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypeImageIndex, manifests: [] }),
      join(dir, 'ingest'),
    );
  } catch (err) {
    throw new StoreError(`opening the content store ${dir}: ${messageOf(err)}`, { cause: err });
  }
  return new LocalContentStore(dir, await lockScopeOf(dir), opts);
}

/**
 * Writes `content` to `path` unless it exists; never replaces what another process wrote. The
 * temp file is named like a dead writer's so that a crash here leaves nothing for long.
 */
async function createIfMissing(path: string, content: string, tmpDir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      // synchronous: a stat costs microseconds; through the thread pool it waits for a turn
      statSync(path);
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    const tmp = join(tmpDir, `${process.pid}-init${Math.random().toString(36).slice(2, 10)}.tmp`);
    try {
      await writeFileDurably(path, content, { tmp, exclusive: true });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      // another process cleaning up ingest/ removed our temp file: try again
      if (code !== 'ENOENT' || attempt >= 3) throw err;
    } finally {
      await fsp.unlink(tmp).catch(() => {});
    }
  }
}

class LocalContentStore implements ContentStore {
  readonly dir: string;
  readonly #scope: LockScope;
  readonly #opts: OpenStoreOptions;
  #token: Promise<LivenessToken> | undefined;
  #defaultLease: Promise<Lease> | undefined;
  #counter = 0;
  #cleaned = false;
  #closed = false;

  constructor(dir: string, scope: LockScope, opts: OpenStoreOptions) {
    this.dir = dir;
    this.#scope = scope;
    this.#opts = opts;
  }

  // ---------------------------------------------------------------- Provider

  blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw new InvalidArgumentError(`invalid digest "${digest}"`);
    return join(this.dir, 'blobs', digestAlgorithm(digest), digestHex(digest));
  }

  // info and readBlob are synchronous inside: a stat, or a read of a manifest or config of a few
  // KB, costs microseconds, while a trip through the thread pool waits for a turn of it, and a
  // build or `images` asks for dozens of them one after another.
  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = statSync(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw new StoreError(`reading blob ${digest} in ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.info(digest)) !== undefined;
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    try {
      return readFileSync(this.blobPath(digest));
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new NotFoundError(`blob ${digest} not found in the local store ${this.dir}`);
      throw new StoreError(`reading blob ${digest} in ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
  }

  async openBlob(digest: Digest, opts: { start?: number; end?: number } = {}): Promise<Readable> {
    const path = this.blobPath(digest);
    let fh: FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new NotFoundError(`blob ${digest} not found in the local store ${this.dir}`);
      throw new StoreError(`reading blob ${digest} in ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
    return createReadStream('', {
      fd: fh,
      start: opts.start ?? 0,
      ...(opts.end !== undefined ? { end: opts.end - 1 } : {}),
      highWaterMark: 256 * 1024,
    });
  }

  // ---------------------------------------------------------------- Ingester

  async putBlob(data: Uint8Array, opts: WriteOptions): Promise<Descriptor> {
    const alg = algorithmFor(opts);
    const digest = `${alg}:${createHashOf(alg).update(data).digest('hex')}` as Digest;
    const desc = this.#descriptor(opts, digest, data.byteLength);
    verifyExpected(opts, digest, data.byteLength);
    const lease = await this.#leaseFor(opts);
    await lease.add([digest]);
    if (await this.has(digest)) return desc;
    await this.#cleanupOnce();
    const tmp = await this.#tempPath();
    try {
      const target = this.blobPath(digest);
      if (alg !== 'sha256') await fsp.mkdir(dirname(target), { recursive: true });
      await writeFileDurably(target, data, { tmp });
    } catch (err) {
      await fsp.unlink(tmp).catch(() => {});
      throw new StoreError(`writing ${opts.what ?? `blob ${digest}`} to ${this.dir}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return desc;
  }

  async ingest(source: Readable | AsyncIterable<Uint8Array>, opts: WriteOptions): Promise<Descriptor> {
    const w = await this.openWriter(opts);
    try {
      for await (const chunk of source) await w.write(chunk as Uint8Array);
      return await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  async openWriter(opts: WriteOptions): Promise<BlobWriter> {
    if (opts.expected && !isDigest(opts.expected.digest)) {
      throw new InvalidArgumentError(`invalid digest "${opts.expected.digest}"`);
    }
    await this.#cleanupOnce();
    const tmp = await this.#tempPath();
    let fh: FileHandle;
    try {
      fh = await fsp.open(tmp, 'wx', 0o644);
    } catch (err) {
      throw new StoreError(`writing to ${this.dir}: ${messageOf(err)}`, { cause: err });
    }
    return new FileBlobWriter(fh, tmp, opts, {
      lease: () => this.#leaseFor(opts),
      target: (d) => this.blobPath(d),
      descriptor: (d, size) => this.#descriptor(opts, d, size),
    });
  }

  #descriptor(opts: WriteOptions, digest: Digest, size: number): Descriptor {
    const d: Descriptor = { mediaType: opts.mediaType, digest, size };
    if (opts.annotations && Object.keys(opts.annotations).length) d.annotations = { ...opts.annotations };
    return d;
  }

  async #tempPath(): Promise<string> {
    const token = await this.#liveness();
    this.#counter++;
    return join(this.dir, 'ingest', `${token.id}.${this.#counter}`);
  }

  #liveness(): Promise<LivenessToken> {
    if (this.#closed) throw new StoreError(`the content store ${this.dir} is closed`);
    this.#token ??= createLivenessToken(this.#scope);
    return this.#token;
  }

  /** Partial writes and leases of dead processes are removed once, before this process first writes. */
  async #cleanupOnce(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    await this.#removeDead('ingest', false);
    await this.#removeDead('leases', false);
  }

  /** Files of `ingest/` or `leases/` whose process is gone (removed unless dry-run). */
  async #removeDead(sub: 'ingest' | 'leases', dryRun: boolean): Promise<string[]> {
    const dir = join(this.dir, sub);
    const dead: string[] = [];
    const alive = new Map<string, boolean>();
    for (const name of readdirOrNone(dir)) {
      const token = tokenOf(name);
      if (token === undefined) continue;
      let live = alive.get(token);
      if (live === undefined) {
        live = await isAlive(this.#scope, token);
        alive.set(token, live);
      }
      if (live) continue;
      dead.push(join(dir, name));
      if (!dryRun) await fsp.unlink(join(dir, name)).catch(() => {});
    }
    return dead;
  }

  // ---------------------------------------------------------------- Leases

  async createLease(): Promise<Lease> {
    const token = await this.#liveness();
    this.#counter++;
    return new FileLease(`${token.id}.L${this.#counter}`, this.dir, (fn) => this.#locked(fn));
  }

  #leaseFor(opts: WriteOptions): Promise<Lease> {
    if (opts.lease) return Promise.resolve(opts.lease);
    this.#defaultLease ??= this.createLease();
    return this.#defaultLease;
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const o = this.#opts.lockTimeoutMs !== undefined ? { timeoutMs: this.#opts.lockTimeoutMs } : {};
    return withLock(this.#scope, storeLock, fn, o);
  }

  // ---------------------------------------------------------------- Names

  async #readIndex(): Promise<ImageIndex> {
    const path = join(this.dir, 'index.json');
    let text: string;
    try {
      // small, and read at every command that lists or names images: no turn of the thread pool
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { schemaVersion: 2, mediaType: MediaTypeImageIndex, manifests: [] };
      throw new StoreError(`reading ${path}: ${messageOf(err)}`, { cause: err });
    }
    try {
      const index = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(index.manifests)) throw new Error('no "manifests" list');
      return index;
    } catch (err) {
      throw new StoreError(`reading ${path}: not a valid OCI index (${messageOf(err)})`, { cause: err });
    }
  }

  async #writeIndex(index: ImageIndex): Promise<void> {
    const tmp = join(this.dir, 'ingest', `${(await this.#liveness()).id}.index`);
    try {
      await fsp.unlink(tmp).catch(() => {});
      await writeFileDurably(join(this.dir, 'index.json'), `${JSON.stringify(index)}\n`, { tmp });
    } catch (err) {
      await fsp.unlink(tmp).catch(() => {});
      throw storeWriteError('updating the image names', this.dir, err);
    }
  }

  async listNames(): Promise<ImageRecord[]> {
    const index = await this.#readIndex();
    const out: ImageRecord[] = [];
    for (const entry of index.manifests) {
      const name = entry.annotations?.[AnnotationRefName];
      if (name) out.push({ name, target: stripNameAnnotations(entry) });
    }
    // byte order, as containerd lists its images (localeCompare's collator costs ~8 ms to set
    // up, at every `images`)
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async getName(name: string): Promise<ImageRecord | undefined> {
    return (await this.listNames()).find((r) => r.name === name);
  }

  async setName(name: string, target: Descriptor): Promise<void> {
    if (!name) throw new InvalidArgumentError('an image name must not be empty');
    // a rebuild that reproduces the image names it again: nothing to write
    const current = await this.getName(name);
    if (current && sameTarget(current.target, target)) return;
    await this.#locked(async () => {
      const index = await this.#readIndex();
      const entry: Descriptor = {
        ...stripNameAnnotations(target),
        annotations: {
          ...(target.annotations ?? {}),
          [AnnotationContainerdImageName]: name,
          [AnnotationRefName]: name,
        },
      };
      const others = index.manifests.filter((m) => m.annotations?.[AnnotationRefName] !== name);
      await this.#writeIndex({ ...index, manifests: sortEntries([...others, entry]) });
    });
  }

  async deleteNames(names: readonly string[]): Promise<string[]> {
    const wanted = new Set(names);
    return this.#locked(async () => {
      const index = await this.#readIndex();
      const removed: string[] = [];
      const kept = index.manifests.filter((m) => {
        const n = m.annotations?.[AnnotationRefName];
        if (n !== undefined && wanted.has(n)) {
          removed.push(n);
          return false;
        }
        return true;
      });
      if (removed.length) await this.#writeIndex({ ...index, manifests: kept });
      return removed;
    });
  }

  // ---------------------------------------------------------------- GC and check

  async gc(opts: GcOptions = {}): Promise<GcResult> {
    // a dry run changes nothing, so it does not wait for the lock (`du` reads while a build
    // writes; names and blobs are each written whole, by rename)
    const run = async () => {
      const roots: GcRoot[] = [...(opts.roots ?? [])];
      for (const rec of await this.listNames()) roots.push(rec.target);
      roots.push(...(await this.#liveLeaseDigests(opts.dryRun === true)));
      const marked = await this.#mark(roots);
      const removed: Digest[] = [];
      let bytes = 0;
      for (const alg of readdirOrNone(join(this.dir, 'blobs'))) {
        for (const hex of readdirOrNone(join(this.dir, 'blobs', alg))) {
          const digest = `${alg}:${hex}` as Digest;
          if (marked.has(digest)) continue;
          const path = join(this.dir, 'blobs', alg, hex);
          const st = statSync(path, { throwIfNoEntry: false });
          if (!st) continue;
          if (!opts.dryRun) await fsp.unlink(path).catch(() => {});
          removed.push(digest);
          bytes += st.size;
        }
      }
      await this.#removeDead('ingest', opts.dryRun === true);
      return { removed, bytes };
    };
    return opts.dryRun ? run() : this.#locked(run);
  }

  /** Digests of live leases; dead leases are removed (unless dry-run). */
  async #liveLeaseDigests(dryRun: boolean): Promise<Digest[]> {
    const dir = join(this.dir, 'leases');
    const out: Digest[] = [];
    for (const name of readdirOrNone(dir)) {
      const token = tokenOf(name);
      if (token === undefined) continue;
      if (!(await isAlive(this.#scope, token))) {
        if (!dryRun) await fsp.unlink(join(dir, name)).catch(() => {});
        continue;
      }
      for (const line of readFileOrEmpty(join(dir, name)).split('\n')) if (isDigest(line)) out.push(line);
    }
    return out;
  }

  /** Everything reachable from the roots (descriptors of manifests and indexes are walked). */
  async #mark(roots: readonly GcRoot[]): Promise<Set<string>> {
    const marked = new Set<string>();
    const queue: GcRoot[] = [...roots];
    while (queue.length) {
      const r = queue.pop()!;
      const digest = typeof r === 'string' ? r : r.digest;
      if (marked.has(digest)) continue;
      marked.add(digest);
      if (typeof r === 'string' || !isWalkable(r)) continue;
      let bytes: Buffer;
      try {
        bytes = readFileSync(this.blobPath(digest)); // a manifest or index: a few KB
      } catch {
        continue; // not present (a partially pulled index): nothing below it to keep
      }
      try {
        queue.push(...childrenOf(parseManifest(bytes, r.mediaType, digest)));
      } catch {
        // unreadable manifest: keep it, walk no further
      }
    }
    return marked;
  }

  async check(): Promise<CheckResult> {
    const problems: string[] = [];
    try {
      const layout = JSON.parse(await fsp.readFile(join(this.dir, 'oci-layout'), 'utf8'));
      if (layout.imageLayoutVersion !== '1.0.0') problems.push('oci-layout: unexpected imageLayoutVersion');
    } catch (err) {
      problems.push(`oci-layout: ${messageOf(err)}`);
    }
    let names: ImageRecord[] = [];
    try {
      names = await this.listNames();
    } catch (err) {
      problems.push(messageOf(err));
    }
    for (const alg of readdirOrNone(join(this.dir, 'blobs'))) {
      for (const hex of readdirOrNone(join(this.dir, 'blobs', alg))) {
        const digest = `${alg}:${hex}`;
        if (!isDigest(digest)) {
          problems.push(`blobs/${alg}/${hex}: not a digest`);
          continue;
        }
        const actual = await hashFile(join(this.dir, 'blobs', alg, hex), alg);
        if (actual !== digest) problems.push(`blob ${digest}: content has digest ${actual}`);
      }
    }
    for (const rec of names) problems.push(...(await this.#checkImage(rec)));
    const leftovers = [
      ...(await this.#removeDead('ingest', true)),
      ...(await this.#removeDead('leases', true)),
    ];
    return { ok: problems.length === 0, problems, leftovers };
  }

  async #checkImage(rec: ImageRecord): Promise<string[]> {
    const problems: string[] = [];
    const visit = async (desc: Descriptor, required: boolean): Promise<boolean> => {
      const info = await this.info(desc.digest);
      if (!info) {
        if (required) problems.push(`${rec.name}: ${desc.mediaType} ${desc.digest} is missing`);
        return false;
      }
      if (info.size !== desc.size) {
        problems.push(`${rec.name}: ${desc.digest} has ${info.size} bytes, its descriptor says ${desc.size}`);
      }
      if (!isWalkable(desc)) return true;
      let parsed: ReturnType<typeof parseManifest>;
      try {
        parsed = parseManifest(
          await this.readBlob(desc.digest),
          desc.mediaType,
          `${rec.name}@${desc.digest}`,
        );
      } catch (err) {
        problems.push(messageOf(err));
        return true;
      }
      if (parsed.kind === 'index') {
        // an index may be pulled for some platforms only; each manifest present must be whole
        let present = 0;
        for (const m of parsed.index.manifests) if (await visit(m, false)) present++;
        if (present === 0) problems.push(`${rec.name}: none of the index's manifests is in the store`);
      } else {
        for (const c of childrenOf(parsed)) await visit(c, true);
      }
      return true;
    };
    await visit(rec.target, true);
    return problems;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#defaultLease) await (await this.#defaultLease).release();
    if (this.#token) await (await this.#token).release();
    this.#closed = true;
  }
}

/** The liveness token a file in ingest/ or leases/ belongs to: `<pid>-<rand>.<n>` → `<pid>-<rand>`. */
function tokenOf(name: string): string | undefined {
  const m = /^(\d+-[a-z0-9]+)\./.exec(name);
  return m?.[1];
}

function stripNameAnnotations(d: Descriptor): Descriptor {
  const { annotations, ...rest } = d;
  if (!annotations) return { ...rest };
  const kept = Object.fromEntries(
    Object.entries(annotations).filter(
      ([k]) => k !== AnnotationRefName && k !== AnnotationContainerdImageName,
    ),
  );
  return Object.keys(kept).length ? { ...rest, annotations: kept } : { ...rest };
}

function sortEntries(entries: Descriptor[]): Descriptor[] {
  const key = (d: Descriptor) => d.annotations?.[AnnotationRefName] ?? '';
  return entries.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The digest algorithm to hash with: the expected digest's, else sha256. */
function algorithmFor(opts: WriteOptions): string {
  return opts.expected ? digestAlgorithm(opts.expected.digest) : 'sha256';
}

function verifyExpected(opts: WriteOptions, digest: Digest, size: number): void {
  const e = opts.expected;
  if (!e) return;
  const what = opts.what ?? `blob ${e.digest}`;
  if (e.size !== size) {
    throw new DigestMismatchError(`${what}: expected ${e.size} bytes, got ${size}`);
  }
  if (e.digest !== digest) {
    throw new DigestMismatchError(`${what}: content has digest ${digest}, expected ${e.digest}`);
  }
}

/**
 * A failed write to the store's own files, saying what was being done and where; a store this
 * user may not write to (another user's, or read-only) says so.
 */
function storeWriteError(doing: string, dir: string, err: unknown): StoreError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? ` (the store is not writable by this user: use its owner, or another root directory)`
      : '';
  return new StoreError(`${doing} in the local store ${dir}: ${messageOf(err)}${hint}`, { cause: err });
}

async function hashFile(path: string, alg: string): Promise<string> {
  const h = createHashOf(alg);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return `${alg}:${h.digest('hex')}`;
}

class FileLease implements Lease {
  readonly id: string;
  readonly #storeDir: string;
  readonly #path: string;
  readonly #locked: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly #added = new Set<string>();
  #released = false;

  /** `storeDir`: the layout directory; the lease is the file `leases/<id>` in it */
  constructor(id: string, storeDir: string, locked: <T>(fn: () => Promise<T>) => Promise<T>) {
    this.id = id;
    this.#storeDir = storeDir;
    this.#path = join(storeDir, 'leases', id);
    this.#locked = locked;
  }

  async add(digests: Iterable<Digest>): Promise<void> {
    if (this.#released) throw new StoreError(`lease ${this.id} was released`);
    const fresh = [...new Set(digests)].filter((d) => !this.#added.has(d));
    if (fresh.length === 0) return;
    await this.#locked(async () => {
      try {
        await fsp.appendFile(this.#path, fresh.map((d) => `${d}\n`).join(''));
      } catch (err) {
        throw storeWriteError('recording the blobs in use', this.#storeDir, err);
      }
    });
    for (const d of fresh) this.#added.add(d);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await fsp.unlink(this.#path).catch(() => {});
  }
}

interface WriterHooks {
  lease(): Promise<Lease>;
  target(d: Digest): string;
  descriptor(d: Digest, size: number): Descriptor;
}

class FileBlobWriter implements BlobWriter {
  readonly #tmp: string;
  readonly #opts: WriteOptions;
  readonly #hooks: WriterHooks;
  #fh: FileHandle | undefined;
  readonly #alg: string;
  #hash: Hash;
  #offset = 0;
  /** the file position the next flushed byte goes to */
  #position = 0;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #flushing: Promise<void> | undefined;
  #error: unknown;
  #state: 'open' | 'staged' | 'committed' | 'aborted' = 'open';
  #desc: Descriptor | undefined;
  #stream: Writable | undefined;

  constructor(fh: FileHandle, tmp: string, opts: WriteOptions, hooks: WriterHooks) {
    this.#fh = fh;
    this.#tmp = tmp;
    this.#opts = opts;
    this.#hooks = hooks;
    this.#alg = algorithmFor(opts);
    this.#hash = createHashOf(this.#alg);
  }

  get offset(): number {
    return this.#offset;
  }

  get stream(): Writable {
    // node:stream is loaded here, not at start-up: most commands that open the store write nothing
    const { Writable } = process.getBuiltinModule('node:stream');
    this.#stream ??= new Writable({
      highWaterMark: 256 * 1024,
      write: (chunk: Buffer, _enc, cb) => {
        this.write(chunk).then(() => cb(), cb);
      },
      final: (cb) => {
        this.#drain().then(() => cb(), cb);
      },
    });
    return this.#stream;
  }

  #what(): string {
    return this.#opts.what ?? (this.#opts.expected ? `blob ${this.#opts.expected.digest}` : 'blob');
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== 'open') throw new StoreError(`writing ${this.#what()}: the writer is ${this.#state}`);
    if (this.#error) throw this.#error;
    if (chunk.byteLength === 0) return;
    this.#hash.update(chunk);
    this.#offset += chunk.byteLength;
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    this.#flushing ??= this.#flushLoop();
    if (this.#queued >= writeHighWater) await this.#flushing;
    if (this.#error) throw this.#error;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#queue.length) {
        const bufs = this.#queue.splice(0, maxBuffersPerWrite);
        let bytes = 0;
        for (const b of bufs) bytes += b.byteLength;
        this.#queued -= bytes;
        await writeAll(this.#fh!, bufs, this.#position);
        this.#position += bytes;
      }
    } catch (err) {
      this.#error = new StoreError(`writing ${this.#what()}: ${messageOf(err)}`, { cause: err });
    } finally {
      this.#flushing = undefined;
    }
  }

  async #drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#error) throw this.#error;
  }

  async reset(): Promise<void> {
    if (this.#state !== 'open') throw new StoreError(`writing ${this.#what()}: the writer is ${this.#state}`);
    await this.#drain();
    await this.#fh!.truncate(0);
    this.#hash = createHashOf(this.#alg);
    this.#offset = 0;
    this.#position = 0;
  }

  async stage(): Promise<Descriptor> {
    if (this.#state === 'staged' || this.#state === 'committed') return this.#desc!;
    if (this.#state === 'aborted') throw new StoreError(`writing ${this.#what()}: the writer was aborted`);
    try {
      await this.#drain();
      const digest = `${this.#alg}:${this.#hash.digest('hex')}` as Digest;
      verifyExpected(this.#opts, digest, this.#offset);
      await this.#fh!.sync();
      await this.#fh!.close();
      this.#fh = undefined;
      this.#desc = this.#hooks.descriptor(digest, this.#offset);
      this.#state = 'staged';
      return this.#desc;
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async commit(): Promise<Descriptor> {
    const desc = await this.stage();
    if (this.#state === 'committed') return desc;
    try {
      await (await this.#hooks.lease()).add([desc.digest]);
      const target = this.#hooks.target(desc.digest);
      if (this.#alg !== 'sha256') await fsp.mkdir(dirname(target), { recursive: true });
      await renameDurably(this.#tmp, target);
    } catch (err) {
      await this.abort();
      throw new StoreError(`storing ${this.#what()}: ${messageOf(err)}`, { cause: err });
    }
    this.#state = 'committed';
    return desc;
  }

  async abort(): Promise<void> {
    if (this.#state === 'committed' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    await this.#flushing?.catch(() => {});
    if (this.#fh) {
      await this.#fh.close().catch(() => {});
      this.#fh = undefined;
    }
    await fsp.unlink(this.#tmp).catch(() => {});
    this.#stream?.destroy();
  }
}

async function writeAll(fh: FileHandle, bufs: Uint8Array[], position: number): Promise<void> {
  let pos = position;
  let rest = bufs;
  for (;;) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    let n = bytesWritten;
    while (rest.length && n >= rest[0]!.byteLength) {
      n -= rest[0]!.byteLength;
      rest = rest.slice(1);
    }
    if (rest.length === 0) return;
    if (n > 0) rest = [rest[0]!.subarray(n), ...rest.slice(1)];
  }
}

function sameTarget(a: Descriptor, b: Descriptor): boolean {
  return (
    a.digest === b.digest &&
    a.mediaType === b.mediaType &&
    a.size === b.size &&
    JSON.stringify(stripNameAnnotations(a).annotations ?? {}) ===
      JSON.stringify(stripNameAnnotations(b).annotations ?? {})
  );
}
