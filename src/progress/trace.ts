/**
 * progress/trace — the state renderers keep: vertexes by digest in the order they started
 * (which numbers them `#1`, `#2`, …), their statuses, log lines split and time-stamped
 * relative to the vertex's start (`0.254 hello`), the last lines kept for the error summary,
 * and warnings. A port of the bookkeeping in BuildKit's progressui `trace`.
 */
import { parseTimestamp, type SolveStatus, type Vertex, type VertexStatus } from './events.js';

export interface TraceVertex {
  vertex: Vertex;
  /** 1-based number in start order; 0 until started */
  index: number;
  statuses: VertexStatus[];
  statusById: Map<string, VertexStatus>;
  /** statuses updated since last printed */
  statusUpdates: Set<string>;
  /** complete log lines not yet printed, each `0.254 text` */
  pendingLogs: string[];
  /** a line without its newline yet */
  partial: string | undefined;
  /** the last lines, for the error summary */
  lastLogs: string[];
  /** all log lines (for the tty's small terminal) */
  tail: string[];
  warnings: { short: string; detail: string[] }[];
  startedMs: number | undefined;
  completedMs: number | undefined;
  /** printed as complete already (plain) */
  printedDone: boolean;
}

const keepLastLogs = 10;
const keepTail = 6;

export class Trace {
  readonly byDigest = new Map<string, TraceVertex>();
  /** in start order */
  readonly started: TraceVertex[] = [];
  readonly updates = new Set<string>();
  startMs: number | undefined;

  update(s: SolveStatus): void {
    for (const v of s.vertexes ?? []) {
      let t = this.byDigest.get(v.digest);
      if (!t) {
        t = {
          vertex: v,
          index: 0,
          statuses: [],
          statusById: new Map(),
          statusUpdates: new Set(),
          pendingLogs: [],
          partial: undefined,
          lastLogs: [],
          tail: [],
          warnings: [],
          startedMs: undefined,
          completedMs: undefined,
          printedDone: false,
        };
        this.byDigest.set(v.digest, t);
      }
      // a repeated announcement of a started vertex does not reset it
      if (v.started === undefined && t.vertex.started !== undefined) continue;
      const restarted =
        v.started !== undefined && v.started !== t.vertex.started && t.vertex.completed !== undefined;
      t.vertex = v;
      if (v.started !== undefined) {
        if (t.index === 0) {
          this.started.push(t);
          t.index = this.started.length;
        }
        t.startedMs = parseTimestamp(v.started);
        if (this.startMs === undefined || t.startedMs < this.startMs) this.startMs = t.startedMs;
      }
      t.completedMs = v.completed !== undefined ? parseTimestamp(v.completed) : undefined;
      if (restarted) t.printedDone = false;
      this.updates.add(v.digest);
    }
    for (const st of s.statuses ?? []) {
      const t = this.byDigest.get(st.vertex);
      if (!t) continue;
      if (!t.statusById.has(st.id)) t.statuses.push(st);
      else t.statuses[t.statuses.findIndex((x) => x.id === st.id)] = st;
      t.statusById.set(st.id, st);
      t.statusUpdates.add(st.id);
      this.updates.add(st.vertex);
    }
    for (const w of s.warnings ?? []) {
      const t = this.byDigest.get(w.vertex);
      if (!t) continue;
      t.warnings.push({
        short: Buffer.from(w.short, 'base64').toString(),
        detail: (w.detail ?? []).map((d) => Buffer.from(d, 'base64').toString()),
      });
      this.updates.add(w.vertex);
    }
    for (const l of s.logs ?? []) {
      const t = this.byDigest.get(l.vertex);
      if (!t) continue;
      const text = Buffer.from(l.data, 'base64').toString('utf8');
      const at = parseTimestamp(l.timestamp);
      const sec = t.startedMs !== undefined ? Math.max(0, (at - t.startedMs) / 1000) : 0;
      const prec = sec < 10 ? 3 : sec < 100 ? 2 : 1;
      const pieces = text.split('\n');
      pieces.forEach((piece, i) => {
        const last = i === pieces.length - 1;
        if (i === 0 && t.partial !== undefined) {
          t.partial += piece;
        } else if (!(last && piece === '')) {
          t.partial = `${sec.toFixed(prec)} ${piece}`;
        } else {
          return;
        }
        if (!last) {
          this.#pushLine(t, t.partial);
          t.partial = undefined;
        }
      });
      this.updates.add(l.vertex);
    }
  }

  #pushLine(t: TraceVertex, line: string): void {
    t.pendingLogs.push(line);
    t.lastLogs.push(line);
    if (t.lastLogs.length > keepLastLogs) t.lastLogs.shift();
    const text = line.slice(line.indexOf(' ') + 1);
    t.tail.push(text);
    if (t.tail.length > keepTail) t.tail.shift();
  }

  /** Moves a pending partial line into the printed lines (at completion). */
  flushPartial(t: TraceVertex): void {
    if (t.partial !== undefined) {
      this.#pushLine(t, t.partial);
      t.partial = undefined;
    }
  }

  /** The `------ > name: … ------` blocks buildx prints after a failed build. */
  errorSummary(): string {
    let out = '';
    for (const t of this.started) {
      const err = t.vertex.error;
      if (!err || err.endsWith('context canceled')) continue;
      this.flushPartial(t);
      out += `------\n > ${t.vertex.name}:\n`;
      for (const l of t.lastLogs) out += `${l}\n`;
      out += '------\n';
    }
    return out;
  }
}
