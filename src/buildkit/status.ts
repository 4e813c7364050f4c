/**
 * buildkit/status — a BuildKit daemon's StatusResponse as polyarch's SolveStatus (which is
 * BuildKit's model field for field: RFC 3339 times with nanoseconds, logs and warnings in
 * base64), so that the tty, plain, rawjson and quiet renderers show a node's build as they
 * show a local one.
 */
import { formatTimestamp, type SolveStatus } from '../progress/events.js';
import type { StatusResponseMsg } from './wire.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const time = (ms: number | undefined) => (ms === undefined ? undefined : formatTimestamp(ms));

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined || v === '' ? {} : { [key]: v }) as { [P in K]?: V };
}

export function toSolveStatus(m: StatusResponseMsg): SolveStatus {
  const out: SolveStatus = {};
  if (m.vertexes.length) {
    out.vertexes = m.vertexes.map((v) => ({
      digest: v.digest,
      ...(v.inputs.length ? { inputs: v.inputs } : {}),
      name: v.name,
      ...opt('started', time(v.started)),
      ...opt('completed', time(v.completed)),
      ...(v.cached ? { cached: true } : {}),
      ...opt('error', v.error),
    }));
  }
  if (m.statuses.length) {
    out.statuses = m.statuses.map((s) => ({
      id: s.id,
      vertex: s.vertex,
      ...opt('name', s.name),
      ...(s.total ? { total: s.total } : {}),
      current: s.current,
      timestamp: time(s.timestamp) ?? formatTimestamp(Date.now()),
      ...opt('started', time(s.started)),
      ...opt('completed', time(s.completed)),
    }));
  }
  if (m.logs.length) {
    out.logs = m.logs.map((l) => ({
      vertex: l.vertex,
      stream: l.stream,
      data: b64(l.msg),
      timestamp: time(l.timestamp) ?? formatTimestamp(Date.now()),
    }));
  }
  if (m.warnings.length) {
    out.warnings = m.warnings.map((w) => ({
      vertex: w.vertex,
      level: w.level,
      short: b64(w.short),
      ...(w.detail.length ? { detail: w.detail.map(b64) } : {}),
      ...opt('url', w.url),
    }));
  }
  return out;
}
