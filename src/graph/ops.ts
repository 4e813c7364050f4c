/**
 * graph/ops — the build graph: vertices, each one operation on the filesystems of its inputs,
 * with the definition that makes its cache key.
 *
 * The Dockerfile conversion produces these; the solver runs them. An op's `definition` is
 * exactly what changes its result and nothing else (no progress names, no source locations),
 * so equal steps of several platforms or stages have equal keys and run once.
 */
import type { NetworkMode } from '../dockerfile/instructions/types.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, Platform } from '../oci/types.js';
import type { ImageSource } from '../registry/transfer.js';

/** An image from a registry or the local store, pinned to its manifest digest. */
export interface ImageOp {
  type: 'image';
  /** the reference as resolved, `localhost:5000/busybox:1.35@sha256:…` */
  ref: string;
  /** the platform's image manifest */
  manifest: Descriptor;
  platform: Platform;
  /** where the image's blobs come from: a registry repository or the local store */
  origin: 'registry' | 'local';
}

/** An empty filesystem (`FROM scratch`). */
export interface ScratchOp {
  type: 'scratch';
}

/** The build context (a local directory), filtered by .dockerignore. */
export interface ContextOp {
  type: 'context';
  /** a stable name: `context` or a named `--build-context` */
  name: string;
  dir: string;
}

export type { NetworkMode } from '../dockerfile/instructions/types.js';

/** A mount for RUN --mount, resolved by the conversion. `input` indexes the vertex's inputs. */
export type ExecMount =
  | { type: 'bind'; target: string; input: number; source: string; readonly: boolean }
  | {
      type: 'cache';
      target: string;
      id: string;
      sharing: 'shared' | 'private' | 'locked';
      readonly: boolean;
      input?: number;
      source?: string;
      mode?: number;
      uid?: number;
      gid?: number;
    }
  | { type: 'tmpfs'; target: string; size?: number }
  | {
      type: 'secret';
      target: string;
      id: string;
      required: boolean;
      mode: number;
      uid: number;
      gid: number;
      env?: string;
    }
  | { type: 'ssh'; target: string; id: string; required: boolean; mode: number; uid: number; gid: number }
  /** small files made by the build (a RUN heredoc with a `#!` line), mounted read-only */
  | { type: 'files'; target: string; files: InlineFile[] };

/** A file whose content is in the Dockerfile (heredocs). */
export interface InlineFile {
  name: string;
  data: string;
  mode: number;
}

/** A process run on the filesystem of input 0 (RUN). */
export interface ExecOp {
  type: 'exec';
  args: string[];
  env: string[];
  /**
   * BuildKit's predefined proxy build args given with --build-arg and not declared with ARG:
   * in the process's environment, but not in its cache key, history or image
   */
  proxyEnv?: string[];
  cwd: string;
  user: string;
  network: NetworkMode;
  security: 'sandbox' | 'insecure';
  mounts: ExecMount[];
  platform: Platform;
  hostname?: string;
  extraHosts?: string[];
  /**
   * The op's result is what the process writes under this path (an empty writable directory,
   * BuildKit's output mount on scratch) rather than its root filesystem, whose changes are then
   * thrown away. An SBOM scan's `/run/out`.
   */
  output?: string;
}

/** COPY/ADD options, BuildKit's FileActionCopy. */
export interface CopyAction {
  action: 'copy';
  /** index of the input the sources come from; -1 when the sources are `inline` */
  input: number;
  /** COPY <<EOF: files written by the build, copied as if from a directory holding them */
  inline?: InlineFile[];
  sources: string[];
  dest: string;
  /** the stage's WORKDIR at this point, for relative dest */
  workdir: string;
  /** `--chown` as written: `user[:group]`, names or numbers */
  chown?: string;
  chmod?: string;
  exclude?: string[];
  parents?: boolean;
  followSymlinks: boolean;
  /** ADD: unpack local archives */
  unpack: boolean;
  /** ADD: fetch URL sources */
  allowURL: boolean;
  checksum?: string;
  /** COPY --link: the copy is a layer of its own, independent of the base */
  link: boolean;
}

export interface MkdirAction {
  action: 'mkdir';
  path: string;
  mode: number;
  parents: boolean;
  /** the owner of what is created: the stage's USER (`name`, `uid`, `uid:gid`, …) */
  chown?: string;
}

export type FileAction = CopyAction | MkdirAction;

/** File operations on input 0 (COPY, ADD, WORKDIR's mkdir). */
export interface FileOp {
  type: 'file';
  actions: FileAction[];
  platform: Platform;
  /** a layer even when nothing changed (BuildKit's WORKDIR: an empty layer for an existing directory) */
  keepEmpty?: boolean;
}

export type Op = ImageOp | ScratchOp | ContextOp | ExecOp | FileOp;
export type OpType = Op['type'];

/** A step of the build. Vertices are immutable once built; `inputs` point at other vertices. */
export interface Vertex {
  readonly op: Op;
  readonly inputs: readonly Vertex[];
  /** the progress name: `[linux/arm64 builder 5/6] RUN go build -o hello .` */
  readonly name: string;
  /** where in the Dockerfile, for error excerpts */
  readonly location?: { file: string; startLine: number; endLine: number };
  /** not shown in progress (the context source, scratch) */
  readonly hidden?: boolean;
  /** the Dockerfile stage the step belongs to (for `--no-cache-filter`) */
  readonly stage?: string;
}

/** What the solver can know about a result without running anything. */
export interface LayerInfo {
  /** snapshot id (directory) holding the unpacked layer; '' for a lazy layer (see `origin`) */
  snapshot: string;
  /** known for layers of pulled images; for built layers the snapshot records it once exported */
  diffID?: Digest;
  /** the compressed blob in the content store, when known */
  blob?: Descriptor;
  /** the cache key of the step that made this layer (absent for layers of a base image) */
  producedBy?: Digest;
  /** when that step ran (RFC 3339): the history entry's `created` */
  created?: string;
  /**
   * A lazy layer (a hit in an imported cache, `--cache-from`): not unpacked here (`snapshot`
   * is ''), `blob` and `diffID` are set, and its blob may not be in the content store yet; this
   * is where to get it (or mount it from, on the same registry).
   */
  origin?: ImageSource;
}

/** Whether a chain has layers that are not unpacked here (see LayerInfo.origin). */
export function isLazy(layers: readonly LayerInfo[]): boolean {
  return layers.some((l) => l.origin !== undefined);
}
