/**
 * build/failure — the error a failed build reports, worded as buildx words it: a failed step
 * is `failed to build: failed to solve: <step's error>` and carries the Dockerfile lines of its
 * instruction (the CLI prints them as BuildKit's excerpt); errors in what the user gave pass
 * unchanged; other polyarch errors say that the build failed.
 */
import type { Definition } from '../driver/types.js';
import {
  BuildError,
  DockerfileError,
  EmulationError,
  InvalidArgumentError,
  NotFoundError,
  PolyarchError,
  UnsupportedError,
} from '../errors.js';
import { VertexError } from '../graph/solver.js';

export function buildFailure(err: unknown, definition: Definition | undefined): unknown {
  const loc = err instanceof VertexError ? err.vertex.location : undefined;
  const df = definition?.parsed;
  if (loc && df) {
    return new BuildError(`failed to build: failed to solve: ${(err as VertexError).message}`, {
      cause: err,
      source: { file: df.file, lines: df.lines, startLine: loc.startLine, endLine: loc.endLine },
    });
  }
  if (
    err instanceof DockerfileError ||
    err instanceof EmulationError ||
    err instanceof InvalidArgumentError ||
    err instanceof NotFoundError ||
    err instanceof UnsupportedError
  ) {
    return err;
  }
  if (err instanceof PolyarchError)
    return new PolyarchError(err.code, `failed to build: ${err.message}`, { cause: err });
  return err;
}
