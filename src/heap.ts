/**
 * heap — how far V8 lets the heap of a building process grow between full collections.
 *
 * V8 puts the next full (old-generation) collection at up to 4× what survived the last one.
 * A build streams its work (the walk of a context, its checksums, the COPY, the layer tar),
 * so little survives (about 15 MB while copying a 100,000-file context), but what the young
 * generation promotes piles up as garbage to that limit: 40 to 55 MB of old generation that
 * held 15 MB alive, a third of the process's peak RSS. At 1.5× the full collections come
 * sooner (each a few milliseconds on such a heap; about 0.2 s more of them in that build).
 *
 * The CLI sets it when a build command runs (a library caller decides for its own process);
 * it is set at run time, not on node's command line: any V8 flag there makes Node
 * refuse the code cache of its built-in modules, 15–20 ms more at every process start. V8
 * reads this one at each collection, so setting it late takes effect at once. (A flag set at
 * run time changes V8's flag hash too, so the built-ins loaded after it compile without their
 * cache; a no-change rebuild measured the same CPU time with and without it.)
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation's growth between full collections, in percent (V8's default: dynamic, up to 300). */
export const buildHeapGrowingPercent = 50;

/**
 * Bounds the heap's growth for a build (see the module comment); setting it again is harmless.
 * It also turns off V8's memory reducer: while a long step runs the process sits idle, and the
 * reducer then runs full compacting collections of a heap of about 10 MB (two in an edit build
 * of seed-hello-xx, 50 ms of CPU taken from the step's own processes); one timer the reducer set
 * before this call still fires.
 */
export function limitHeapGrowth(percent = buildHeapGrowingPercent): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  setFlagsFromString('--no-memory-reducer');
}
