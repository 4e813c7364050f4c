/**
 * registry/errors — what a registry's error response says, as one line. Pure.
 *
 * The distribution spec's body is `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`.
 */

export interface DistributionError {
  code: string;
  message: string;
}

/** The errors of a response body (empty when it is not the spec's JSON). */
export function parseErrorBody(body: string): DistributionError[] {
  try {
    const json = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown }[] };
    if (!Array.isArray(json.errors)) return [];
    return json.errors.map((e) => ({
      code: typeof e.code === 'string' ? e.code : 'UNKNOWN',
      message: typeof e.message === 'string' ? e.message : '',
    }));
  } catch {
    return [];
  }
}

const statusText: Record<number, string> = {
  400: 'bad request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  409: 'conflict',
  413: 'payload too large',
  416: 'range not satisfiable',
  429: 'too many requests',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};

/** `manifest unknown (MANIFEST_UNKNOWN)`, or `HTTP 502 bad gateway` when the body says nothing. */
export function describeErrorResponse(status: number, body: string): string {
  const errs = parseErrorBody(body);
  if (errs.length) {
    return errs.map((e) => (e.message ? `${e.message} (${e.code})` : e.code)).join('; ');
  }
  return `HTTP ${status}${statusText[status] ? ` ${statusText[status]}` : ''}`;
}
