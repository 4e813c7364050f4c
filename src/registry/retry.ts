/**
 * registry/retry — when and how long to wait before trying a request again. Pure.
 *
 * Retried: 429 (after `Retry-After` when it says), 500, 502, 503, 504, and connection errors
 * (reset, refused, closed, timed out) — for idempotent requests only (GET, HEAD, and PUTs of
 * content-addressed things; resumable blob downloads continue with `Range`).
 */

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
