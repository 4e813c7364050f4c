/**
 * attest/capture — what provenance records of a platform's build, read off its op graph
 * (BuildKit's provenance.Capture and its buildConfig): the base images by digest and platform,
 * the local sources, the secrets and SSH sockets asked for (by id only), whether any step had
 * the network, and for `mode=max` the steps themselves in BuildKit's LLB JSON shape with
 * their Dockerfile locations. Pure.
 */

import { isHttpSource } from '../fileop/fetch.js';
import type { CopyAction, ExecMount, ExecOp, FileAction, FileOp, Vertex } from '../graph/ops.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/types.js';
import { normalizePlatform, samePlatform } from '../platforms/index.js';
import { formatReference, parseReference } from '../reference/index.js';

export interface ImageMaterial {
  /**
   * the reference as the Dockerfile names it: `localhost:5000/busybox:1.35` (BuildKit keeps the
   * resolver's unpinned name and drops the pinned duplicate); pinned only when it had no tag
   */
  ref: string;
  platform: Platform;
  /** the digest the reference was pinned to */
  digest?: Digest;
}

export interface SecretUse {
  id: string;
  optional: boolean;
}

/** A step of `buildConfig.llbDefinition`. */
export interface BuildStep {
  id: string;
  op: unknown;
  inputs?: string[];
}

/** Where a step came from: `source.locations` of BuildKit's metadata. */
export interface StepLocation {
  file: string;
  startLine: number;
  endLine: number;
}

export interface Capture {
  images: ImageMaterial[];
  /** the local sources read: `context`, named contexts */
  locals: string[];
  secrets: SecretUse[];
  ssh: SecretUse[];
  /** some RUN step had the network */
  networkAccess: boolean;
  /** some input cannot be pinned (an ADD of a URL) */
  incompleteMaterials: boolean;
  /** the steps, inputs first, the final (empty) step last */
  steps: BuildStep[];
  /** by step id */
  locations: Record<string, StepLocation>;
  /** the cache key of each step id, when known (BuildKit's digestMapping) */
  keys: Record<string, Digest>;
}

/** Reads a platform's graph. `keyOf` gives a step's cache key when the solver knows it. */
export function captureGraph(
  root: Vertex,
  keyOf: (v: Vertex) => Digest | undefined = () => undefined,
): Capture {
  const order = postOrder(root);
  const ids = new Map<Vertex, string>();
  for (const [i, v] of order.entries()) ids.set(v, `step${i}`);
  const c: Capture = {
    images: [],
    locals: [],
    secrets: [],
    ssh: [],
    networkAccess: false,
    incompleteMaterials: false,
    steps: [],
    locations: {},
    keys: {},
  };
  for (const v of order) {
    recordSources(c, v);
    const id = ids.get(v)!;
    c.steps.push(buildStep(v, id, ids));
    if (v.location) c.locations[id] = v.location;
    const key = keyOf(v);
    if (key) c.keys[id] = key;
  }
  c.steps.push({ id: `step${order.length}`, op: { Op: null }, inputs: [`${ids.get(root) ?? 'step0'}:0`] });
  c.images.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  c.locals.sort();
  c.secrets.sort((a, b) => (a.id < b.id ? -1 : 1));
  c.ssh.sort((a, b) => (a.id < b.id ? -1 : 1));
  return c;
}

/** Depth first, inputs before the step (BuildKit's walkDigests); `scratch` is no step. */
function postOrder(root: Vertex): Vertex[] {
  const seen = new Set<Vertex>();
  const out: Vertex[] = [];
  const walk = (v: Vertex) => {
    if (seen.has(v)) return;
    seen.add(v);
    for (const i of v.inputs) walk(i);
    if (v.op.type !== 'scratch') out.push(v);
  };
  walk(root);
  return out;
}

function recordSources(c: Capture, v: Vertex): void {
  const op = v.op;
  if (op.type === 'image') {
    const r = parseReference(op.ref);
    const ref = r.tag !== undefined ? formatReference({ ...r, digest: undefined }) : op.ref;
    if (!c.images.some((m) => m.ref === ref && samePlatform(m.platform, op.platform))) {
      c.images.push({ ref, platform: op.platform, ...(r.digest ? { digest: r.digest } : {}) });
    }
  } else if (op.type === 'context') {
    if (!c.locals.includes(op.name)) c.locals.push(op.name);
  } else if (op.type === 'exec') {
    if (op.network !== 'none') c.networkAccess = true;
    for (const m of op.mounts) {
      if (m.type === 'secret') addUse(c.secrets, m.id, !m.required);
      if (m.type === 'ssh') addUse(c.ssh, m.id, !m.required);
    }
  } else if (op.type === 'file') {
    const urls = op.actions.some((a) => a.action === 'copy' && a.allowURL && a.sources.some(isHttpSource));
    if (urls) c.incompleteMaterials = true;
  }
}

function addUse(list: SecretUse[], id: string, optional: boolean): void {
  const known = list.find((s) => s.id === id);
  if (known) known.optional &&= optional;
  else list.push({ id, optional });
}

/** LLB's platform message as Go's JSON writes it. */
function llbPlatform(p: Platform): Record<string, string> {
  const n = normalizePlatform(p);
  return { Architecture: n.architecture, OS: n.os, ...(n.variant ? { Variant: n.variant } : {}) };
}

function buildStep(v: Vertex, id: string, ids: ReadonlyMap<Vertex, string>): BuildStep {
  const inputs = v.inputs.filter((i) => ids.has(i)).map((i) => `${ids.get(i)}:0`);
  return { id, op: llbOp(v, ids), ...(inputs.length ? { inputs } : {}) };
}

/** The step as BuildKit's pb.Op in JSON: a source, an exec or a file op. */
function llbOp(v: Vertex, ids: ReadonlyMap<Vertex, string>): unknown {
  const op = v.op;
  const inputIndex = (i: number) => (v.inputs[i] && ids.has(v.inputs[i]!) ? inputPosition(v, i, ids) : -1);
  switch (op.type) {
    case 'image':
      return {
        Op: { source: { identifier: `docker-image://${op.ref}` } },
        platform: llbPlatform(op.platform),
        constraints: {},
      };
    case 'context':
      return {
        Op: { source: { identifier: `local://${op.name}`, attrs: { 'local.sharedkeyhint': op.name } } },
        constraints: {},
      };
    case 'exec':
      return { Op: { exec: llbExec(op, inputIndex) }, platform: llbPlatform(op.platform), constraints: {} };
    case 'file':
      return { Op: { file: llbFile(op, inputIndex) }, platform: llbPlatform(op.platform), constraints: {} };
    default:
      return { Op: null };
  }
}

/** The position of input `i` among the inputs that are steps (scratch is no input in LLB). */
function inputPosition(v: Vertex, i: number, ids: ReadonlyMap<Vertex, string>): number {
  return v.inputs.slice(0, i).filter((x) => ids.has(x)).length;
}

function llbExec(op: ExecOp, inputIndex: (i: number) => number): unknown {
  const meta: Record<string, unknown> = { args: op.args, env: op.env, cwd: op.cwd };
  if (op.user) meta.user = op.user;
  if (op.hostname) meta.hostname = op.hostname;
  if (op.extraHosts?.length)
    meta.extraHosts = op.extraHosts.map((h) => ({ Host: h.split(':')[0], IP: h.slice(h.indexOf(':') + 1) }));
  const mounts: unknown[] = [{ input: inputIndex(0), dest: '/', output: 0 }];
  for (const m of op.mounts) mounts.push(llbMount(m, inputIndex));
  return {
    meta,
    mounts,
    ...(op.network === 'none' ? { network: 2 } : op.network === 'host' ? { network: 1 } : {}),
    ...(op.security === 'insecure' ? { security: 1 } : {}),
  };
}

/** LLB's MountType: BIND 0, SECRET 1, SSH 2, CACHE 3, TMPFS 4. Secrets by id only. */
function llbMount(m: ExecMount, inputIndex: (i: number) => number): unknown {
  const unbound = (mountType: number, extra: Record<string, unknown> = {}) => ({
    input: -1,
    dest: m.target,
    output: -1,
    mountType,
    ...extra,
  });
  switch (m.type) {
    case 'bind':
      return {
        input: inputIndex(m.input),
        selector: m.source,
        dest: m.target,
        output: -1,
        readonly: m.readonly,
      };
    case 'cache':
      return {
        ...unbound(3, {
          cacheOpt: { ID: m.id, sharing: m.sharing === 'shared' ? 0 : m.sharing === 'private' ? 1 : 2 },
        }),
        input: m.input !== undefined ? inputIndex(m.input) : -1,
      };
    case 'tmpfs':
      return unbound(4, m.size ? { TmpfsOpt: { size: m.size } } : {});
    case 'secret':
      return unbound(1, { secretOpt: { ID: m.id, optional: !m.required } });
    case 'ssh':
      return unbound(2, { SSHOpt: { ID: m.id, optional: !m.required } });
    case 'files':
      return { input: -1, dest: m.target, output: -1, readonly: true };
  }
}

function llbFile(op: FileOp, inputIndex: (i: number) => number): unknown {
  return {
    actions: op.actions.map((a, i) => ({
      input: i === 0 ? inputIndex(0) : -1,
      secondaryInput: a.action === 'copy' ? inputIndex(a.input) : -1,
      output: i === op.actions.length - 1 ? 0 : -1,
      Action: llbAction(a),
    })),
  };
}

function llbAction(a: FileAction): unknown {
  if (a.action === 'mkdir') return { mkdir: { path: a.path, mode: a.mode, makeParents: a.parents } };
  return { copy: llbCopy(a) };
}

function llbCopy(a: CopyAction): Record<string, unknown> {
  return {
    src: a.sources.length === 1 ? a.sources[0] : a.sources,
    dest: a.dest.startsWith('/') ? a.dest : `${a.workdir.replace(/\/$/, '')}/${a.dest}`,
    ...(a.chown ? { owner: a.chown } : {}),
    mode: a.chmod ? Number.parseInt(a.chmod, 8) : -1,
    followSymlink: a.followSymlinks,
    dirCopyContents: true,
    attemptUnpackDockerCompatibility: a.unpack,
    createDestPath: true,
    allowWildcard: true,
    allowEmptyWildcard: true,
    ...(a.exclude?.length ? { exclude_patterns: a.exclude } : {}),
    ...(a.link ? { alwaysReplaceExistingDestPaths: true } : {}),
    timestamp: -1,
  };
}
