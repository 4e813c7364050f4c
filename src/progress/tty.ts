/**
 * progress/tty — BuildKit's interactive display: a header `[+] Building 3.4s (5/5) FINISHED`
 * and one line per step, ` => [linux/arm64 2/3] WORKDIR /app    0.1s`, `CACHED` and `ERROR`
 * prefixes, sub-statuses as ` => => resolve …`, the last lines of a running step's output as
 * ` => => # …`, repainted in place ten times a second. Port of progressui's ttyDisplay.
 */
import type { Renderer, SolveStatus } from './events.js';
import { nowMs, parseTimestamp } from './events.js';
import { Trace } from './trace.js';
import { formatBytes } from './units.js';

const esc = '\u001b[';
const blue = (s: string) => `${esc}34m${s}${esc}0m`;
const red = (s: string) => `${esc}31m${s}${esc}0m`;
const yellow = (s: string) => `${esc}33m${s}${esc}0m`;
const faint = (s: string) => `${esc}2m${s}${esc}0m`;

interface Job {
  name: string;
  seconds: number;
  completed: boolean;
  error: boolean;
  warning: boolean;
  status: string;
  term: string[];
}

export interface TtyOptions {
  phase?: string;
  columns?: () => number;
  rows?: () => number;
  color?: boolean;
}

export class TtyRenderer implements Renderer {
  readonly #out: NodeJS.WritableStream;
  readonly #trace = new Trace();
  readonly #timer: NodeJS.Timeout;
  readonly #phase: string;
  readonly #columns: () => number;
  readonly #rows: () => number;
  readonly #color: boolean;
  readonly #start = nowMs();
  #lineCount = 0;
  #dirty = true;

  constructor(out: NodeJS.WritableStream, opts: TtyOptions = {}) {
    this.#out = out;
    this.#phase = opts.phase ?? 'Building';
    this.#columns = opts.columns ?? (() => 80);
    this.#rows = opts.rows ?? (() => 24);
    this.#color = opts.color ?? true;
    this.#timer = setInterval(() => this.#paint(false), 100);
    this.#timer.unref();
  }

  write(s: SolveStatus): void {
    this.#trace.update(s);
    this.#dirty = true;
  }

  async done(): Promise<void> {
    clearInterval(this.#timer);
    this.#paint(true);
    const summary = this.#trace.errorSummary();
    if (summary) this.#out.write(summary);
  }

  #jobs(now: number): Job[] {
    const jobs: Job[] = [];
    for (const v of this.#trace.started) {
      const end = v.completedMs ?? now;
      let name = v.vertex.name.replaceAll('\t', ' ');
      if (v.vertex.error) name = `ERROR ${name}`;
      if (v.vertex.cached) name = `CACHED ${name}`;
      jobs.push({
        name,
        seconds: v.startedMs !== undefined ? (end - v.startedMs) / 1000 : 0,
        completed: v.completedMs !== undefined,
        error: !!v.vertex.error,
        warning: false,
        status: '',
        term: v.completedMs === undefined ? v.tail.slice() : [],
      });
      for (const s of v.statuses) {
        const sEnd = s.completed !== undefined ? parseTimestamp(s.completed) : now;
        const started = s.started !== undefined ? parseTimestamp(s.started) : sEnd;
        jobs.push({
          name: `=> ${s.id}`,
          seconds: (sEnd - started) / 1000,
          completed: s.completed !== undefined,
          error: false,
          warning: false,
          status: s.total
            ? `${formatBytes(s.current)} / ${formatBytes(s.total)}`
            : s.current
              ? formatBytes(s.current)
              : '',
          term: [],
        });
      }
      for (const w of v.warnings) {
        jobs.push({
          name: `WARN: ${w.short}`,
          seconds: 0,
          completed: true,
          error: false,
          warning: true,
          status: '',
          term: [],
        });
      }
    }
    return jobs;
  }

  #paint(final: boolean): void {
    if (!final && !this.#dirty && this.#trace.started.every((v) => v.completedMs !== undefined)) return;
    this.#dirty = false;
    const width = Math.max(20, this.#columns());
    const height = Math.max(5, this.#rows());
    const now = nowMs();
    let jobs = this.#jobs(now);
    if (!final && jobs.length > height - 2) {
      // keep the newest lines and every running one
      const keep = height - 2;
      const running = jobs.filter((j) => !j.completed);
      const done = jobs.filter((j) => j.completed);
      jobs = [...done.slice(Math.max(0, done.length - Math.max(0, keep - running.length))), ...running].slice(
        -keep,
      );
    }
    const all = [...this.#trace.byDigest.values()];
    const total = all.length;
    const completed = all.filter((v) => v.completedMs !== undefined).length;
    const start = this.#trace.startMs ?? this.#start;
    const status = final && completed > 0 && completed === total ? 'FINISHED' : '';
    let buf = '';
    if (this.#lineCount > 0) buf += `${esc}${this.#lineCount + 1}A${esc}0G`;
    buf += `${esc}?25l`;
    const header = `[+] ${this.#phase} ${((now - start) / 1000).toFixed(1)}s (${completed}/${total}) ${status}`;
    buf += `${align(header, '', width).slice(0, width)}\n`;
    let lines = 0;
    for (const j of jobs) {
      const timer = ` ${j.seconds < 0.05 ? '0.0' : j.seconds.toFixed(1)}s`;
      const pfx = ' => ';
      let left = width - pfx.length - timer.length - 1;
      let showStatus = false;
      if (j.status && left + j.status.length > 20) {
        showStatus = true;
        left -= j.status.length + 1;
      }
      if (left < 12) continue;
      let line = pfx + (j.name.length > left ? j.name.slice(0, left) : j.name);
      if (showStatus) line += ` ${j.status}`;
      line = align(line, timer, width);
      if (this.#color && j.completed) line = j.error ? red(line) : j.warning ? yellow(line) : blue(line);
      buf += `${line}\n`;
      lines++;
      if (!final && !j.completed) {
        for (const t of j.term) {
          const text = ` => => # ${t}`.slice(0, width);
          buf += `${this.#color ? faint(text) : text}${esc}K\n`;
          lines++;
        }
      }
    }
    for (let i = lines; i < this.#lineCount; i++) buf += `${' '.repeat(width)}\n`;
    if (this.#lineCount > lines) buf += `${esc}${this.#lineCount - lines}A${esc}0G`;
    buf += `${esc}?25h`;
    this.#lineCount = lines;
    this.#out.write(buf);
  }
}

function align(l: string, r: string, w: number): string {
  const pad = w - r.length - 1;
  return `${l.padEnd(pad)} ${r}`;
}
