/**
 * buildkit/wire — the protobuf messages polyarch exchanges with a BuildKit daemon, written by
 * hand with the field numbers of BuildKit's protos (api/services/control/control.proto,
 * api/types/worker.proto, solver/pb/ops.proto's Platform, session/auth, session/secrets,
 * session/filesync and fsutil's types/wire.proto + stat.proto). Encoding is
 * @bufbuild/protobuf's wire writer and reader; only the fields polyarch uses are read, the
 * rest skipped.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

const LEN = WireType.LengthDelimited;
const VARINT = WireType.Varint;

type Fields = (field: number, wireType: WireType, r: BinaryReader) => boolean;

/** Reads a message, handing each field to `on`; what it does not take is skipped. */
function read(bytes: Uint8Array, on: Fields): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wt] = r.tag();
    if (!on(field, wt, r)) r.skip(wt, field);
  }
}

function num(v: bigint | string | number): number {
  return Number(v);
}

function writeMap(w: BinaryWriter, field: number, m: Readonly<Record<string, string>> | undefined): void {
  for (const [k, v] of Object.entries(m ?? {})) {
    w.tag(field, LEN).fork().tag(1, LEN).string(k).tag(2, LEN).string(v).join();
  }
}

function readMapEntry(bytes: Uint8Array, into: Record<string, string>): void {
  let key = '';
  let value = '';
  read(bytes, (f, _wt, r) => {
    if (f === 1) key = r.string();
    else if (f === 2) value = r.string();
    else return false;
    return true;
  });
  into[key] = value;
}

function writeStrings(w: BinaryWriter, field: number, list: readonly string[] | undefined): void {
  for (const s of list ?? []) w.tag(field, LEN).string(s);
}

/** google.protobuf.Timestamp → milliseconds since the epoch, with the nanoseconds as a fraction. */
function readTimestamp(bytes: Uint8Array): number {
  let seconds = 0;
  let nanos = 0;
  read(bytes, (f, _wt, r) => {
    if (f === 1) seconds = num(r.int64());
    else if (f === 2) nanos = r.int32();
    else return false;
    return true;
  });
  return seconds * 1000 + nanos / 1e6;
}

// ---- control ---------------------------------------------------------------------------------

export interface ExporterEntry {
  type: string;
  attrs: Record<string, string>;
}

export interface CacheEntry {
  type: string;
  attrs: Record<string, string>;
}

export interface SolveRequestMsg {
  ref: string;
  session: string;
  frontend: string;
  frontendAttrs: Record<string, string>;
  entitlements?: readonly string[];
  /** BuildKit ≥ 0.13 reads `Exporters` (13); older daemons the single deprecated exporter (3, 4) */
  exporters: readonly ExporterEntry[];
  cacheExports?: readonly CacheEntry[];
  cacheImports?: readonly CacheEntry[];
  /** exporters may be served by the session (`FileSend`) */
  enableSessionExporter?: boolean;
}

function writeEntry(w: BinaryWriter, field: number, e: { type: string; attrs: Record<string, string> }) {
  w.tag(field, LEN).fork().tag(1, LEN).string(e.type);
  writeMap(w, 2, e.attrs);
  w.join();
}

export function encodeSolveRequest(m: SolveRequestMsg): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, LEN).string(m.ref);
  const [first] = m.exporters;
  if (first) {
    w.tag(3, LEN).string(first.type);
    writeMap(w, 4, first.attrs);
  }
  w.tag(5, LEN).string(m.session);
  w.tag(6, LEN).string(m.frontend);
  writeMap(w, 7, m.frontendAttrs);
  if (m.cacheExports?.length || m.cacheImports?.length) {
    w.tag(8, LEN).fork();
    for (const e of m.cacheExports ?? []) writeEntry(w, 4, e);
    for (const e of m.cacheImports ?? []) writeEntry(w, 5, e);
    w.join();
  }
  writeStrings(w, 9, m.entitlements);
  for (const e of m.exporters) writeEntry(w, 13, e);
  if (m.enableSessionExporter) w.tag(14, VARINT).bool(true);
  return w.finish();
}

export function decodeSolveResponse(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  read(bytes, (f, _wt, r) => {
    if (f !== 1) return false;
    readMapEntry(r.bytes(), out);
    return true;
  });
  return out;
}

/** StatusRequest, ListWorkersRequest, DiskUsageRequest: a string (1) or repeated strings (1). */
export function encodeStrings1(list: readonly string[]): Uint8Array {
  const w = new BinaryWriter();
  writeStrings(w, 1, list);
  return w.finish();
}

export interface StatusVertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started?: number;
  completed?: number;
  error?: string;
}

export interface StatusVertexStatus {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  timestamp?: number;
  started?: number;
  completed?: number;
}

export interface StatusVertexLog {
  vertex: string;
  timestamp?: number;
  stream: number;
  msg: Uint8Array;
}

export interface StatusVertexWarning {
  vertex: string;
  level: number;
  short: Uint8Array;
  detail: Uint8Array[];
  url: string;
}

export interface StatusResponseMsg {
  vertexes: StatusVertex[];
  statuses: StatusVertexStatus[];
  logs: StatusVertexLog[];
  warnings: StatusVertexWarning[];
}

function decodeVertex(bytes: Uint8Array): StatusVertex {
  const v: StatusVertex = { digest: '', inputs: [], name: '', cached: false };
  read(bytes, (f, _wt, r) => {
    if (f === 1) v.digest = r.string();
    else if (f === 2) v.inputs.push(r.string());
    else if (f === 3) v.name = r.string();
    else if (f === 4) v.cached = r.bool();
    else if (f === 5) v.started = readTimestamp(r.bytes());
    else if (f === 6) v.completed = readTimestamp(r.bytes());
    else if (f === 7) v.error = r.string();
    else return false;
    return true;
  });
  return v;
}

function decodeVertexStatus(bytes: Uint8Array): StatusVertexStatus {
  const s: StatusVertexStatus = { id: '', vertex: '', name: '', current: 0, total: 0 };
  read(bytes, (f, _wt, r) => {
    if (f === 1) s.id = r.string();
    else if (f === 2) s.vertex = r.string();
    else if (f === 3) s.name = r.string();
    else if (f === 4) s.current = num(r.int64());
    else if (f === 5) s.total = num(r.int64());
    else if (f === 6) s.timestamp = readTimestamp(r.bytes());
    else if (f === 7) s.started = readTimestamp(r.bytes());
    else if (f === 8) s.completed = readTimestamp(r.bytes());
    else return false;
    return true;
  });
  return s;
}

function decodeVertexLog(bytes: Uint8Array): StatusVertexLog {
  const l: StatusVertexLog = { vertex: '', stream: 0, msg: new Uint8Array() };
  read(bytes, (f, _wt, r) => {
    if (f === 1) l.vertex = r.string();
    else if (f === 2) l.timestamp = readTimestamp(r.bytes());
    else if (f === 3) l.stream = num(r.int64());
    else if (f === 4) l.msg = r.bytes();
    else return false;
    return true;
  });
  return l;
}

function decodeVertexWarning(bytes: Uint8Array): StatusVertexWarning {
  const w: StatusVertexWarning = { vertex: '', level: 0, short: new Uint8Array(), detail: [], url: '' };
  read(bytes, (f, _wt, r) => {
    if (f === 1) w.vertex = r.string();
    else if (f === 2) w.level = num(r.int64());
    else if (f === 3) w.short = r.bytes();
    else if (f === 4) w.detail.push(r.bytes());
    else if (f === 5) w.url = r.string();
    else return false;
    return true;
  });
  return w;
}

export function decodeStatusResponse(bytes: Uint8Array): StatusResponseMsg {
  const m: StatusResponseMsg = { vertexes: [], statuses: [], logs: [], warnings: [] };
  read(bytes, (f, _wt, r) => {
    if (f === 1) m.vertexes.push(decodeVertex(r.bytes()));
    else if (f === 2) m.statuses.push(decodeVertexStatus(r.bytes()));
    else if (f === 3) m.logs.push(decodeVertexLog(r.bytes()));
    else if (f === 4) m.warnings.push(decodeVertexWarning(r.bytes()));
    else return false;
    return true;
  });
  return m;
}

export interface WirePlatform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface BuildkitVersionMsg {
  package: string;
  version: string;
  revision: string;
}

export interface WorkerRecordMsg {
  id: string;
  labels: Record<string, string>;
  platforms: WirePlatform[];
  version?: BuildkitVersionMsg;
}

function decodePlatform(bytes: Uint8Array): WirePlatform {
  const p: WirePlatform = { architecture: '', os: '' };
  read(bytes, (f, _wt, r) => {
    if (f === 1) p.architecture = r.string();
    else if (f === 2) p.os = r.string();
    else if (f === 3) {
      const v = r.string();
      if (v) p.variant = v;
    } else return false;
    return true;
  });
  return p;
}

function decodeVersion(bytes: Uint8Array): BuildkitVersionMsg {
  const v: BuildkitVersionMsg = { package: '', version: '', revision: '' };
  read(bytes, (f, _wt, r) => {
    if (f === 1) v.package = r.string();
    else if (f === 2) v.version = r.string();
    else if (f === 3) v.revision = r.string();
    else return false;
    return true;
  });
  return v;
}

function decodeWorkerRecord(bytes: Uint8Array): WorkerRecordMsg {
  const w: WorkerRecordMsg = { id: '', labels: {}, platforms: [] };
  read(bytes, (f, _wt, r) => {
    if (f === 1) w.id = r.string();
    else if (f === 2) readMapEntry(r.bytes(), w.labels);
    else if (f === 3) w.platforms.push(decodePlatform(r.bytes()));
    else if (f === 5) w.version = decodeVersion(r.bytes());
    else return false;
    return true;
  });
  return w;
}

export function decodeListWorkersResponse(bytes: Uint8Array): WorkerRecordMsg[] {
  const out: WorkerRecordMsg[] = [];
  read(bytes, (f, _wt, r) => {
    if (f !== 1) return false;
    out.push(decodeWorkerRecord(r.bytes()));
    return true;
  });
  return out;
}

export function decodeInfoResponse(bytes: Uint8Array): BuildkitVersionMsg | undefined {
  let v: BuildkitVersionMsg | undefined;
  read(bytes, (f, _wt, r) => {
    if (f !== 1) return false;
    v = decodeVersion(r.bytes());
    return true;
  });
  return v;
}

export interface UsageRecordMsg {
  id: string;
  mutable: boolean;
  inUse: boolean;
  size: number;
  createdAt?: number;
  lastUsedAt?: number;
  usageCount: number;
  description: string;
  recordType: string;
  shared: boolean;
  parents: string[];
}

export function decodeUsageRecord(bytes: Uint8Array): UsageRecordMsg {
  const u: UsageRecordMsg = {
    id: '',
    mutable: false,
    inUse: false,
    size: 0,
    usageCount: 0,
    description: '',
    recordType: '',
    shared: false,
    parents: [],
  };
  read(bytes, (f, _wt, r) => {
    if (f === 1) u.id = r.string();
    else if (f === 2) u.mutable = r.bool();
    else if (f === 3) u.inUse = r.bool();
    else if (f === 4) u.size = num(r.int64());
    else if (f === 5) {
      const p = r.string();
      if (p) u.parents.push(p);
    } else if (f === 6) u.createdAt = readTimestamp(r.bytes());
    else if (f === 7) u.lastUsedAt = readTimestamp(r.bytes());
    else if (f === 8) u.usageCount = num(r.int64());
    else if (f === 9) u.description = r.string();
    else if (f === 10) u.recordType = r.string();
    else if (f === 11) u.shared = r.bool();
    else if (f === 12) u.parents.push(r.string());
    else return false;
    return true;
  });
  return u;
}

export function decodeDiskUsageResponse(bytes: Uint8Array): UsageRecordMsg[] {
  const out: UsageRecordMsg[] = [];
  read(bytes, (f, _wt, r) => {
    if (f !== 1) return false;
    out.push(decodeUsageRecord(r.bytes()));
    return true;
  });
  return out;
}

export interface PruneRequestMsg {
  filters: readonly string[];
  all: boolean;
  /** nanoseconds */
  keepDuration: number;
  /** `--keep-storage` (reservedSpace; `keepBytes` on older daemons: the same field) */
  keepBytes: number;
}

export function encodePruneRequest(m: PruneRequestMsg): Uint8Array {
  const w = new BinaryWriter();
  writeStrings(w, 1, m.filters);
  if (m.all) w.tag(2, VARINT).bool(true);
  if (m.keepDuration) w.tag(3, VARINT).int64(m.keepDuration);
  if (m.keepBytes) w.tag(4, VARINT).int64(m.keepBytes);
  return w.finish();
}

/** BytesMessage (control's and filesync's): data = 1. */
export function encodeBytesMessage(data: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(1, LEN).bytes(data).finish();
}

export function decodeBytesMessage(bytes: Uint8Array): Uint8Array {
  let data: Uint8Array = new Uint8Array();
  read(bytes, (f, _wt, r) => {
    if (f !== 1) return false;
    data = r.bytes();
    return true;
  });
  return data;
}

// ---- session: auth, secrets ------------------------------------------------------------------

/** CredentialsRequest.Host, GetSecretRequest.ID: a string in field 1. */
export function decodeString1(bytes: Uint8Array): string {
  let s = '';
  read(bytes, (f, _wt, r) => {
    if (f !== 1) return false;
    s = r.string();
    return true;
  });
  return s;
}

export function encodeCredentialsResponse(username: string, secret: string): Uint8Array {
  const w = new BinaryWriter();
  if (username) w.tag(1, LEN).string(username);
  if (secret) w.tag(2, LEN).string(secret);
  return w.finish();
}

// ---- fsutil ----------------------------------------------------------------------------------

export const PacketType = { stat: 0, req: 1, data: 2, fin: 3, err: 4 } as const;

export interface FsStat {
  path: string;
  /** Go's os.FileMode bits */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** nanoseconds since the epoch */
  modTime: bigint;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs?: Record<string, Uint8Array>;
}

export interface Packet {
  type: number;
  stat?: FsStat;
  id: number;
  data?: Uint8Array;
}

function encodeStat(w: BinaryWriter, s: FsStat): void {
  w.tag(1, LEN).string(s.path);
  if (s.mode) w.tag(2, VARINT).uint32(s.mode >>> 0);
  if (s.uid) w.tag(3, VARINT).uint32(s.uid);
  if (s.gid) w.tag(4, VARINT).uint32(s.gid);
  if (s.size) w.tag(5, VARINT).int64(s.size);
  if (s.modTime) w.tag(6, VARINT).int64(s.modTime);
  if (s.linkname) w.tag(7, LEN).string(s.linkname);
  if (s.devmajor) w.tag(8, VARINT).int64(s.devmajor);
  if (s.devminor) w.tag(9, VARINT).int64(s.devminor);
  for (const [k, v] of Object.entries(s.xattrs ?? {})) {
    w.tag(10, LEN).fork().tag(1, LEN).string(k).tag(2, LEN).bytes(v).join();
  }
}

function decodeStat(bytes: Uint8Array): FsStat {
  const s: FsStat = {
    path: '',
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    modTime: 0n,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  };
  read(bytes, (f, _wt, r) => {
    if (f === 1) s.path = r.string();
    else if (f === 2) s.mode = r.uint32();
    else if (f === 3) s.uid = r.uint32();
    else if (f === 4) s.gid = r.uint32();
    else if (f === 5) s.size = num(r.int64());
    else if (f === 6) s.modTime = BigInt(r.int64());
    else if (f === 7) s.linkname = r.string();
    else if (f === 8) s.devmajor = num(r.int64());
    else if (f === 9) s.devminor = num(r.int64());
    else return false;
    return true;
  });
  return s;
}

export function encodePacket(p: Packet): Uint8Array {
  const w = new BinaryWriter();
  if (p.type) w.tag(1, VARINT).int32(p.type);
  if (p.stat) {
    w.tag(2, LEN).fork();
    encodeStat(w, p.stat);
    w.join();
  }
  if (p.id) w.tag(3, VARINT).uint32(p.id);
  if (p.data?.length) w.tag(4, LEN).bytes(p.data);
  return w.finish();
}

export function decodePacket(bytes: Uint8Array): Packet {
  const p: Packet = { type: 0, id: 0 };
  read(bytes, (f, _wt, r) => {
    if (f === 1) p.type = r.int32();
    else if (f === 2) p.stat = decodeStat(r.bytes());
    else if (f === 3) p.id = r.uint32();
    else if (f === 4) p.data = r.bytes();
    else return false;
    return true;
  });
  return p;
}

// ---- gRPC status details --------------------------------------------------------------------

/** BuildKit's errdefs.Source: the Dockerfile (pb.SourceInfo) and the lines (pb.Range) an error is about. */
export interface ErrorSourceMsg {
  filename: string;
  data: Uint8Array;
  ranges: { startLine: number; endLine: number }[];
}

function decodeLine(bytes: Uint8Array): number {
  let line = 0;
  read(bytes, (f, _wt, r) => {
    if (f !== 1) return false;
    line = r.int32();
    return true;
  });
  return line;
}

function decodeRange(bytes: Uint8Array): { startLine: number; endLine: number } {
  const out = { startLine: 0, endLine: 0 };
  read(bytes, (f, _wt, r) => {
    if (f === 1) out.startLine = decodeLine(r.bytes());
    else if (f === 2) out.endLine = decodeLine(r.bytes());
    else return false;
    return true;
  });
  return out;
}

function decodeSource(bytes: Uint8Array): ErrorSourceMsg {
  const s: ErrorSourceMsg = { filename: '', data: new Uint8Array(), ranges: [] };
  read(bytes, (f, _wt, r) => {
    if (f === 1) {
      read(r.bytes(), (g, _w, q) => {
        if (g === 1) s.filename = q.string();
        else if (g === 2) s.data = q.bytes();
        else return false;
        return true;
      });
    } else if (f === 2) s.ranges.push(decodeRange(r.bytes()));
    else return false;
    return true;
  });
  return s;
}

/** The errdefs.Source among a google.rpc.Status's details (Any: type_url = 1, value = 2). */
export function decodeErrorSource(status: Uint8Array): ErrorSourceMsg | undefined {
  let found: ErrorSourceMsg | undefined;
  read(status, (f, _wt, r) => {
    if (f !== 3) return false;
    let url = '';
    let value: Uint8Array = new Uint8Array();
    read(r.bytes(), (g, _w, q) => {
      if (g === 1) url = q.string();
      else if (g === 2) value = q.bytes();
      else return false;
      return true;
    });
    if (url.endsWith('errdefs.Source')) found ??= decodeSource(value);
    return true;
  });
  return found;
}

/** google.rpc.Status (grpc-status-details-bin): code = 1, message = 2. */
export function decodeRpcStatus(bytes: Uint8Array): { code: number; message: string } {
  const s = { code: 0, message: '' };
  read(bytes, (f, _wt, r) => {
    if (f === 1) s.code = r.int32();
    else if (f === 2) s.message = r.string();
    else return false;
    return true;
  });
  return s;
}
