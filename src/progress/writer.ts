/**
 * progress/writer — what the build uses to report: a `Progress` that hands out per-vertex
 * handles and turns calls into `SolveStatus` batches for a sink.
 *
 *     const v = progress.vertex(key, '[linux/arm64 2/3] RUN make', [parentKey]);
 *     v.start(); v.log(1, bytes); v.complete();      // or v.cached(), v.fail(err)
 *     const s = v.status('extracting sha256:…'); s.update(n, total); s.done();
 *
 * A vertex reported twice under the same digest (equal steps of several platforms) is one
 * vertex to the renderers, as in BuildKit.
 */
import { digestOf } from '../oci/digest.js';
import { formatTimestamp, nowMs, type SolveStatus, type StatusSink, type Vertex } from './events.js';

export interface StatusHandle {
  update(current: number, total?: number): void;
  done(): void;
}

export interface VertexHandle {
  readonly digest: string;
  start(): void;
  /** a step whose result came from the cache: started and completed at once, `cached: true` */
  cached(): void;
  complete(): void;
  fail(message: string): void;
  log(stream: 1 | 2, data: Uint8Array): void;
  status(id: string, name?: string): StatusHandle;
  warn(short: string, detail?: string[], url?: string): void;
}

/** Least time between two updates of one status. */
const statusInterval = 100;

export class Progress {
  readonly #sink: StatusSink;
  readonly #vertexes = new Map<string, Vertex>();
  constructor(sink: StatusSink) {
    this.#sink = sink;
  }

  /** A handle for the vertex `digest`; announces it (not started) the first time. */
  vertex(digest: string, name: string, inputs: readonly string[] = []): VertexHandle {
    let v = this.#vertexes.get(digest);
    if (!v) {
      v = { digest, ...(inputs.length ? { inputs: [...inputs] } : {}), name };
      this.#vertexes.set(digest, v);
      this.#emitVertex(v);
    }
    const vertex = v;
    const emit = (patch: Partial<Vertex>) => {
      Object.assign(vertex, patch);
      this.#emitVertex(vertex);
    };
    const sink = this.#sink;
    return {
      digest,
      start: () => {
        delete vertex.completed;
        delete vertex.error;
        delete vertex.cached;
        emit({ started: formatTimestamp(nowMs()) });
      },
      cached: () => {
        const t = formatTimestamp(nowMs());
        emit({ started: vertex.started ?? t, completed: t, cached: true });
      },
      complete: () => emit({ completed: formatTimestamp(nowMs()) }),
      fail: (message) => emit({ completed: formatTimestamp(nowMs()), error: message }),
      log: (stream, data) => {
        sink.write({
          logs: [
            {
              vertex: digest,
              stream,
              data: Buffer.from(data).toString('base64'),
              timestamp: formatTimestamp(nowMs()),
            },
          ],
        });
      },
      status: (id, name) => {
        // Updates are coalesced: nothing is sent for the first 100 ms, then at most every
        // 100 ms, and the final state always; a quick status shows once, as `… done`.
        const started = formatTimestamp(nowMs());
        let current = 0;
        let total: number | undefined;
        let lastSent = 0;
        let timer: NodeJS.Timeout | undefined;
        let finished = false;
        const send = (completed?: string) => {
          lastSent = Date.now();
          sink.write({
            statuses: [
              {
                id,
                vertex: digest,
                ...(name ? { name } : {}),
                ...(total !== undefined ? { total } : {}),
                current,
                timestamp: completed ?? formatTimestamp(nowMs()),
                started,
                ...(completed ? { completed } : {}),
              },
            ],
          });
        };
        const schedule = () => {
          if (timer || finished) return;
          const wait = Math.max(0, statusInterval - (Date.now() - lastSent));
          timer = setTimeout(() => {
            timer = undefined;
            if (!finished) send();
          }, wait);
          timer.unref();
        };
        lastSent = Date.now();
        schedule();
        return {
          update: (c, t) => {
            current = c;
            total = t;
            schedule();
          },
          done: () => {
            if (finished) return;
            finished = true;
            if (timer) clearTimeout(timer);
            send(formatTimestamp(nowMs()));
          },
        };
      },
      warn: (short, detail, url) => {
        sink.write({
          warnings: [
            {
              vertex: digest,
              level: 1,
              short: Buffer.from(short).toString('base64'),
              ...(detail ? { detail: detail.map((d) => Buffer.from(d).toString('base64')) } : {}),
              ...(url ? { url } : {}),
            },
          ],
        });
      },
    };
  }

  /** Passes on a status made elsewhere (a BuildKit node's), as it is. */
  forward(status: SolveStatus): void {
    this.#sink.write(status);
  }

  #emitVertex(v: Vertex): void {
    this.#sink.write({ vertexes: [{ ...v }] });
  }
}

/** BuildKit's internal steps (`[internal] load …`): a plain vertex keyed by its name, started. */
export function startInternalStep(progress: Progress, name: string): VertexHandle {
  const v = progress.vertex(digestOf(name), name);
  v.start();
  return v;
}

/** A sink that keeps everything (tests, metadata). */
export class RecordingSink implements StatusSink {
  readonly batches: SolveStatus[] = [];
  write(status: SolveStatus): void {
    this.batches.push(status);
  }
}
