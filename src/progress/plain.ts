/**
 * progress/plain — BuildKit's `--progress=plain` printer: `#N name`, `#N 0.254 output`,
 * `#N resolve … done`, `#N DONE 0.3s` / `#N CACHED` / `#N ERROR: …`, one vertex at a time
 * with `#N ...` when another interrupts it. Port of progressui's textMux.
 */
import type { Renderer, SolveStatus } from './events.js';
import { parseTimestamp } from './events.js';
import { Trace, type TraceVertex } from './trace.js';
import { formatBytes } from './units.js';

const minTimeDeltaMs = 5000;
const minProgressDelta = 0.05;

export class PlainRenderer implements Renderer {
  readonly #out: NodeJS.WritableStream;
  readonly #trace = new Trace();
  #current: TraceVertex | undefined;
  #notFirst = false;
  readonly #last = new Map<string, { current: number; at: number }>();

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }

  write(s: SolveStatus): void {
    this.#trace.update(s);
    this.#print();
  }

  async done(): Promise<void> {
    this.#print();
    const summary = this.#trace.errorSummary();
    if (summary) this.#out.write(summary);
  }

  get trace(): Trace {
    return this.#trace;
  }

  #print(): void {
    const t = this.#trace;
    const updated = [...t.updates].map((d) => t.byDigest.get(d)!).filter((v) => v.index > 0);
    const completed = updated
      .filter((v) => v.completedMs !== undefined)
      .sort((a, b) => a.completedMs! - b.completedMs!);
    const rest = updated.filter((v) => v.completedMs === undefined);
    const current = this.#current;
    if (current && completed.includes(current)) this.#printVertex(current);
    for (const v of completed) if (v !== current) this.#printVertex(v);
    if (current && rest.includes(current)) this.#printVertex(current);
    for (const v of rest) if (v !== current) this.#printVertex(v);
    t.updates.clear();
  }

  #printVertex(v: TraceVertex): void {
    const w = (s: string) => this.#out.write(s);
    const completedNow = v.completedMs !== undefined;
    // a finished vertex announced again with nothing new is not printed again
    if (v.printedDone && v !== this.#current && v.statusUpdates.size === 0 && v.pendingLogs.length === 0)
      return;
    if (v !== this.#current) {
      if (this.#current && this.#current.completedMs === undefined) w(`#${this.#current.index} ...\n`);
      if (this.#notFirst) w('\n');
      this.#notFirst = true;
      w(`#${v.index} ${v.vertex.name}\n`);
    }
    for (const s of v.statuses) {
      if (!v.statusUpdates.has(s.id)) continue;
      const at = parseTimestamp(s.timestamp);
      const last = this.#last.get(s.id);
      if (last && s.completed === undefined) {
        const delta = s.total ? (s.current - last.current) / s.total : 0;
        if (delta < minProgressDelta && at - last.at < minTimeDeltaMs) continue;
      }
      this.#last.set(s.id, { current: s.current, at });
      let bytes = '';
      if (s.total) bytes = ` ${formatBytes(s.current)} / ${formatBytes(s.total)}`;
      else if (s.current) bytes = ` ${formatBytes(s.current)}`;
      let tm = '';
      const end = s.completed !== undefined ? parseTimestamp(s.completed) : at;
      if (s.started !== undefined) {
        const diff = (end - parseTimestamp(s.started)) / 1000;
        if (diff > 0.01) tm = ` ${diff.toFixed(1)}s`;
      }
      if (s.completed !== undefined) tm += ' done';
      w(`#${v.index} ${s.id}${bytes}${tm}\n`);
    }
    v.statusUpdates.clear();
    if (completedNow) this.#trace.flushPartial(v);
    for (const l of v.pendingLogs) w(`#${v.index} ${l}\n`);
    v.pendingLogs = [];
    this.#current = v;
    if (completedNow && !v.printedDone) {
      v.printedDone = true;
      this.#current = undefined;
      const { error, cached } = v.vertex;
      if (error) {
        w(error.endsWith('context canceled') ? `#${v.index} CANCELED\n` : `#${v.index} ERROR: ${error}\n`);
      } else if (cached) {
        w(`#${v.index} CACHED\n`);
      } else {
        const secs = v.startedMs !== undefined ? (v.completedMs! - v.startedMs) / 1000 : 0;
        w(`#${v.index} DONE ${secs.toFixed(1)}s\n`);
      }
    } else if (completedNow) {
      this.#current = undefined;
    }
    // warnings are listed by the build under the progress, as buildx does
    v.warnings.splice(0);
  }
}
