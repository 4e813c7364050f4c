/**
 * progress/events — the event model: BuildKit's `SolveStatus`, field for field, so that the
 * `rawjson` stream is read by the tools that read buildx's (`docker buildx build
 * --progress=rawjson`), and every renderer works from the same values.
 *
 * A build emits batches of vertex updates (a step: started, completed, cached, error), statuses
 * (a sub-task of a vertex with optional byte progress: `resolve …`, `extracting sha256:…`,
 * `exporting manifest sha256:… done`), logs (a step's stdout/stderr bytes) and warnings.
 * Timestamps are RFC 3339 with nanoseconds, as Go marshals `time.Time`.
 */

/** A step of the build (BuildKit's client.Vertex). `digest` identifies it. */
export interface Vertex {
  digest: string;
  inputs?: string[];
  name: string;
  started?: string;
  completed?: string;
  cached?: boolean;
  error?: string;
}

/** A sub-task of a vertex, with optional byte counts (client.VertexStatus). */
export interface VertexStatus {
  id: string;
  vertex: string;
  name?: string;
  total?: number;
  current: number;
  timestamp: string;
  started?: string;
  completed?: string;
}

/** Output of a step: stream 1 stdout, 2 stderr; data is base64 in JSON (client.VertexLog). */
export interface VertexLog {
  vertex: string;
  stream: number;
  data: string;
  timestamp: string;
}

/** A warning attached to a vertex (client.VertexWarning); short/detail are base64 in JSON. */
export interface VertexWarning {
  vertex: string;
  level: number;
  short: string;
  detail?: string[];
  url?: string;
}

/** One batch of updates (client.SolveStatus). */
export interface SolveStatus {
  vertexes?: Vertex[];
  statuses?: VertexStatus[];
  logs?: VertexLog[];
  warnings?: VertexWarning[];
}

/** Something that consumes status batches: a renderer, a recorder, a fan-out. */
export interface StatusSink {
  write(status: SolveStatus): void;
}

/** A sink that draws the stream for a person (tty, plain, rawjson, quiet). */
export interface Renderer extends StatusSink {
  /** flush and print the error summary; call once at the end */
  done(): Promise<void>;
}

const timeOrigin = performance.timeOrigin;

/** Now, in ms since the epoch with sub-ms precision. */
export function nowMs(): number {
  return timeOrigin + performance.now();
}

/** RFC 3339 with 9 fractional digits, UTC (`2026-11-28T09:12:33.207193432Z`). */
export function formatTimestamp(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString(); // …SS.mmmZ
  const micro = Math.floor((ms - whole) * 1e6)
    .toString()
    .padStart(6, '0');
  return `${iso.slice(0, -1)}${micro}Z`;
}

/** Parses a timestamp written by `formatTimestamp` (or Go) back to ms since the epoch. */
export function parseTimestamp(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(s);
  if (!m) return Date.parse(s);
  const base = Date.parse(`${m[1]}Z`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + frac;
}
