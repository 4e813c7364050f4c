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
  messageOf,
  NotFoundError,
  PolyarchError,
  UnsupportedError,
} from '../errors.js';
import { VertexError } from '../graph/solver.js';
import { formatPlatform } from '../platforms/index.js';
import { NodeFailure } from './solve.js';

/** A node's failure said with the node and its platforms: `failed to build: node armbox (linux/arm64): …`. */
function onNode(err: unknown, failure: NodeFailure): unknown {
  const platforms = failure.platforms.map(formatPlatform).join(', ');
  const inner = messageOf(err).replace(/^failed to build: /, '');
  // an error that names its node already (a daemon lost) only gains the platforms
  const message = inner.includes(`node ${failure.node} (`)
    ? `failed to build: ${inner} (building ${platforms})`
    : `failed to build: node ${failure.node} (${platforms}): ${inner}`;
  if (err instanceof BuildError)
    return new BuildError(message, { cause: err, ...(err.source ? { source: err.source } : {}) });
  if (err instanceof PolyarchError) return new PolyarchError(err.code, message, { cause: err });
  return new BuildError(message, { cause: err });
}

export function buildFailure(err: unknown, definition: Definition | undefined): unknown {
  if (err instanceof NodeFailure) return onNode(buildFailure(err.cause, definition), err);
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
  if (err instanceof BuildError && err.source)
    return new BuildError(`failed to build: ${err.message}`, { cause: err, source: err.source });
  if (err instanceof PolyarchError)
    return new PolyarchError(err.code, `failed to build: ${err.message}`, { cause: err });
  return err;
}
