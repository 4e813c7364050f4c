/**
 * registry/retry — when and how long to wait before trying a request again (pure), and
 * `withRetries`, the one loop that does it: every retried request of the registry client goes
 * through it exactly once (go-containerregistry's ping → auth → retry layering).
 *
 * Retried: 429 (after `Retry-After` when it says), 500, 502, 503, 504, and connection errors
 * (reset, refused, closed, timed out) — for idempotent requests only (GET, HEAD, and PUTs of
 * content-addressed things; resumable blob downloads continue with `Range`; a blob upload's
 * POST/PATCH/PUT session is started again as a whole).
 */
import { CancelledError, messageOf, PolyarchError, RegistryError, sleep } from '../errors.js';

export interface RetryPolicy {
  /** tries in all, the first included (default 5) */
  attempts: number;
  /** the first wait; doubled each time (default 250 ms) */
  baseDelayMs: number;
  /** the longest wait (default 10 s; also caps Retry-After) */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000 };

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

const retryableCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_REQ_RETRY',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** True for network errors worth another try (looks through `cause`). */
export function isRetryableNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && retryableCodes.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number.parseInt(v, 10) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** The wait before try number `attempt + 1` (attempt counts from 1), with ±20 % jitter. */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const base = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** A short description of a network error (`connection reset (ECONNRESET)`). */
export function describeNetworkError(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: string }).code;
    if (code) return `${messageOf(e)} (${code})`;
    e = (e as { cause?: unknown }).cause;
  }
  return messageOf(err);
}

/** A failure of `what` as a message: a polyarch error's own, or `what: ` and the network error. */
export function describeFailure(what: string, err: unknown): string {
  return err instanceof PolyarchError ? err.message : `${what}: ${describeNetworkError(err)}`;
}

/**
 * A registry request that failed in a way worth another try — a 429/5xx answer or a broken
 * connection — and that no retry layer has given up on yet. `withRetries` tries again after
 * it; when out of tries it throws a plain RegistryError instead, so an outer layer never tries
 * again what an inner one already did.
 */
export class TemporaryError extends RegistryError {
  /** the wait the registry asked for (`Retry-After`) */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number; retryAfterMs?: number }) {
    super(message, options);
    this.name = 'TemporaryError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** True for a failure worth another try: a TemporaryError, or a retryable network error not yet described. */
export function isTemporary(err: unknown): boolean {
  if (err instanceof TemporaryError) return true;
  return !(err instanceof PolyarchError) && isRetryableNetworkError(err);
}

/** What `withRetries` needs besides the work: the policy, cancellation and the `--debug` lines. */
export interface RetryContext {
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  readonly debug?: ((line: string) => void) | undefined;
}

/**
 * The error given up with after `tries` tries of `what`: the last failure's message (network
 * errors described), `(after N attempts)`, as a RegistryError that is not temporary.
 */
export function retriesExhausted(what: string, err: unknown, tries: number): RegistryError {
  const message = describeFailure(what, err);
  return new RegistryError(tries > 1 ? `${message} (after ${tries} attempts)` : message, {
    cause: err,
    ...(err instanceof RegistryError && err.status !== undefined ? { status: err.status } : {}),
  });
}

/**
 * Runs `attempt` until it returns, at most `policy.attempts` times, waiting `backoffDelay`
 * (or the registry's `Retry-After`) between tries. A try that throws a temporary failure
 * (`isTemporary`) is tried again; any other error is thrown as it is; when no try is left the
 * last failure is thrown as `giveUp` makes it (default `retriesExhausted`; whatever it makes
 * should not be temporary, or an outer loop would try again what this one did). `attempt` is told
 * whether it is the last try (a request then returns even a 5xx answer, for its caller to
 * describe). An aborted signal ends it with CancelledError.
 */
export async function withRetries<T>(
  what: string,
  ctx: RetryContext,
  attempt: (last: boolean) => Promise<T>,
  giveUp: (err: unknown, tries: number) => unknown = (err, tries) => retriesExhausted(what, err, tries),
): Promise<T> {
  for (let tries = 1; ; tries++) {
    const last = tries >= ctx.policy.attempts;
    try {
      return await attempt(last);
    } catch (err) {
      if (ctx.signal?.aborted) throw new CancelledError();
      if (!isTemporary(err)) throw err;
      if (last) throw giveUp(err, tries);
      const wait = backoffDelay(
        tries,
        ctx.policy,
        err instanceof TemporaryError ? err.retryAfterMs : undefined,
      );
      ctx.debug?.(
        `${describeFailure(what, err)}; retrying in ${wait} ms (attempt ${tries + 1} of ${ctx.policy.attempts})`,
      );
      await sleep(wait, ctx.signal);
    }
  }
}
