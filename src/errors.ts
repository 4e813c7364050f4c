/**
 * errors — the few error classes polyarch raises to its users.
 *
 * Each class has a stable `code` that scripts and the API can switch on, a message that says
 * what was being done (`pulling localhost:5000/busybox:1.35 for linux/arm64: manifest unknown`),
 * and an optional `cause`. The CLI prints `ERROR: <message>` for any `PolyarchError` and exits
 * non-zero without a stack trace; anything else is a bug and gets its stack.
 */

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'DOCKERFILE'
  | 'NOT_FOUND'
  | 'REGISTRY'
  | 'AUTH'
  | 'DIGEST_MISMATCH'
  | 'STORE'
  | 'BUILD'
  | 'EXEC'
  | 'EMULATION'
  | 'UNSUPPORTED'
  | 'CANCELLED';

export class PolyarchError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'PolyarchError';
  }
}

/** A value given by the user (flag, reference, platform, …) is malformed or not allowed. */
export class InvalidArgumentError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** A position in a source file, 1-based line and column as editors show them. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** A Dockerfile could not be parsed or converted; always carries file, line and column. */
export class DockerfileError extends PolyarchError {
  readonly location: SourceLocation;
  /** the message without the location prefix */
  readonly detail: string;
  constructor(location: SourceLocation, detail: string, options?: { cause?: unknown }) {
    super('DOCKERFILE', `${location.file}:${location.line}:${location.column}: ${detail}`, options);
    this.name = 'DockerfileError';
    this.location = location;
    this.detail = detail;
  }
}

/** Something named (an image, a stage, a builder, a file) does not exist. */
export class NotFoundError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
    this.name = 'NotFoundError';
  }
}

/** A registry answered with an error or could not be reached. */
export class RegistryError extends PolyarchError {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super('REGISTRY', message, options);
    this.name = 'RegistryError';
    this.status = options?.status;
  }
}

/** A registry refused the credentials (or their absence). */
export class AuthError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTH', message, options);
    this.name = 'AuthError';
  }
}

/** Bytes did not match the digest (or size) they were announced with. */
export class DigestMismatchError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DIGEST_MISMATCH', message, options);
    this.name = 'DigestMismatchError';
  }
}

/** The local store or cache could not be read or written. */
export class StoreError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE', message, options);
    this.name = 'StoreError';
  }
}

/** The Dockerfile lines an error is about (BuildKit's errdefs.Source), for the excerpt under it. */
export interface ErrorSource {
  file: string;
  /** every line of the file */
  lines: readonly string[];
  /** 1-based, inclusive */
  startLine: number;
  endLine: number;
}

/** A build step failed (non-zero exit, missing file to copy, …). */
export class BuildError extends PolyarchError {
  /** the instruction of the failed step, when known */
  readonly source: ErrorSource | undefined;
  constructor(message: string, options?: { cause?: unknown; source?: ErrorSource }) {
    super('BUILD', message, options);
    this.name = 'BuildError';
    this.source = options?.source;
  }
}

/**
 * The OCI runtime could not run a step's process at all (bad mount, missing binary, runtime
 * unsupported on this host). A process that ran and exited non-zero is not this error.
 */
export class ExecError extends PolyarchError {
  /** what went wrong without what was being done (`runc: exec: "/bin/sh": … no such file`) */
  readonly reason: string;
  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super('EXEC', message, options);
    this.name = 'ExecError';
    this.reason = options?.reason ?? message;
  }
}

/** A foreign platform cannot be run: no binfmt_misc handler, or the handler is broken. */
export class EmulationError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EMULATION', message, options);
    this.name = 'EmulationError';
  }
}

/** Something valid but not supported (yet): a zstd layer on Node 20, a git source, a stdin context, … */
export class UnsupportedError extends PolyarchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED', message, options);
    this.name = 'UnsupportedError';
  }
}

/** The operation was cancelled (signal, abort). */
export class CancelledError extends PolyarchError {
  constructor(message = 'cancelled', options?: { cause?: unknown }) {
    super('CANCELLED', message, options);
    this.name = 'CancelledError';
  }
}

/** Exhaustiveness check for discriminated unions: `default: assertNever(x)`. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** Whether a thrown value is a system error with one of these codes (`ENOENT`, `EEXIST`, …). */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

/** Waits `ms`; a signal that aborts ends the wait at once with CancelledError. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The message of an unknown thrown value, for wrapping into context. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
