/**
 * registry/transport — HTTP to registries over undici: the scheme (HTTPS, or plain HTTP for
 * loopback and insecure hosts, found by a `GET /v2/` ping: plain HTTP first for loopback,
 * HTTPS first for insecure hosts),
 * authentication (anonymous, basic, and bearer tokens from the `WWW-Authenticate` challenge,
 * cached per scope), retries with backoff, and redirects (the Authorization header is not
 * sent to another host).
 *
 * As go-containerregistry composes its transports (ping → auth → retry), a request is
 * retried innermost, around the one HTTP exchange (`withRetries`, once per request); the auth
 * answer to a 401 and redirects are not retries and sit outside it. A request marked
 * `retry: false` is sent once: its caller retries a larger whole that holds it.
 *
 * One `RegistryTransport` per process (or per operation); it holds connection pools and
 * tokens. Debug output goes to `debug` and never contains credentials or tokens.
 */
import type { Agent, Dispatcher } from 'undici';
import { AuthError, CancelledError, RegistryError } from '../errors.js';
import { loadUndici } from '../undici.js';
import { type Challenge, challengeScopes, mergeScopes, parseChallenges } from './challenge.js';
import { anonymous, type CredentialProvider, type Credentials } from './credentials.js';
import { describeErrorResponse } from './errors.js';
import { allowsInsecure, endpointHost, pingSchemes } from './hosts.js';
import {
  defaultRetryPolicy,
  describeNetworkError,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryContext,
  type RetryPolicy,
  retriesExhausted,
  TemporaryError,
  withRetries,
} from './retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface TransportOptions {
  credentials?: CredentialProvider;
  /** registries (host[:port]) where plain HTTP and unverified TLS are allowed besides loopback */
  insecureRegistries?: readonly string[];
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** a line per request and retry, for `--debug` (no secrets) */
  debug?: (line: string) => void;
  signal?: AbortSignal;
  /** connections per origin (default 8) */
  connections?: number;
}

export interface HttpRequest {
  method: HttpMethod;
  /** `/v2/…` on the registry, or an absolute URL (an upload `Location`) */
  path: string;
  headers?: Record<string, string>;
  /** bytes, or a factory called for each try (streams cannot be replayed) */
  body?: Uint8Array | string | (() => Promise<NodeJS.ReadableStream | Uint8Array>);
  /** token scopes the request needs: `repository:a/b:pull` */
  scopes: readonly string[];
  /**
   * sent again (within the retry policy) after a broken connection or a 429/5xx answer. Only
   * for idempotent requests (GET, HEAD, PUTs of content-addressed things), and not for one
   * that its caller retries as part of a larger whole (a download with its body, an upload
   * session): a request is retried in one place. When false a failure worth another try is a
   * TemporaryError, or a 429/5xx answer, for that caller.
   */
  retry: boolean;
  /** what is being done, for errors: `pulling manifest of localhost:5000/x:1` */
  what: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** the final URL (after redirects) */
  url: string;
  /** how many times it was sent (more than 1: the earlier answers were 429/5xx, this is the last) */
  attempts: number;
}

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

interface HostState {
  domain: string;
  origin: Promise<string> | undefined;
  challenge: Challenge | undefined;
  tokens: Map<string, { token: string; expiresAt: number }>;
  pending: Map<string, Promise<string>>;
  creds: Promise<Credentials | undefined> | undefined;
}

export class RegistryTransport {
  readonly retry: RetryPolicy;
  readonly #credentials: CredentialProvider;
  readonly #insecure: readonly string[];
  readonly #userAgent: string;
  readonly #debug: ((line: string) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #connections: number;
  /** the connection pools, made at the first request: undici is loaded then, not at start */
  #agents: Promise<{ secure: Agent; lax: Agent }> | undefined;
  readonly #hosts = new Map<string, HostState>();

  constructor(opts: TransportOptions = {}) {
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
    this.#credentials = opts.credentials ?? anonymous;
    this.#insecure = opts.insecureRegistries ?? [];
    this.#userAgent = opts.userAgent ?? 'polyarch';
    this.#debug = opts.debug;
    this.#signal = opts.signal;
    this.#connections = opts.connections ?? 8;
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** The retry policy with this transport's cancellation and debug output. */
  get retries(): RetryContext {
    return { policy: this.retry, signal: this.#signal, debug: this.#debug };
  }

  /**
   * `withRetries` with this transport's policy: for a whole that holds requests sent with
   * `retry: false` (a download with its body, an upload session).
   */
  withRetries<T>(
    what: string,
    attempt: (last: boolean) => Promise<T>,
    giveUp?: (err: unknown, tries: number) => unknown,
  ): Promise<T> {
    return withRetries(what, this.retries, attempt, giveUp);
  }

  async close(): Promise<void> {
    const agents = await this.#agents;
    if (agents) await Promise.all([agents.secure.close(), agents.lax.close()]);
  }

  debug(line: string): void {
    this.#debug?.(line);
  }

  #host(domain: string): HostState {
    let hs = this.#hosts.get(domain);
    if (!hs) {
      hs = {
        domain,
        origin: undefined,
        challenge: undefined,
        tokens: new Map(),
        pending: new Map(),
        creds: undefined,
      };
      this.#hosts.set(domain, hs);
    }
    return hs;
  }

  async #dispatcher(domain: string): Promise<Agent> {
    this.#agents ??= loadUndici().then(({ Agent }) => {
      const connections = this.#connections;
      return {
        secure: new Agent({ connections, keepAliveTimeout: 30_000 }),
        lax: new Agent({ connections, keepAliveTimeout: 30_000, connect: { rejectUnauthorized: false } }),
      };
    });
    const agents = await this.#agents;
    return allowsInsecure(domain, this.#insecure) ? agents.lax : agents.secure;
  }

  #creds(hs: HostState): Promise<Credentials | undefined> {
    hs.creds ??= this.#credentials.get(hs.domain);
    return hs.creds;
  }

  /** The origin (`https://host`) of a registry, found once by pinging `/v2/`. */
  origin(domain: string): Promise<string> {
    const hs = this.#host(domain);
    hs.origin ??= this.#ping(hs).catch((err) => {
      hs.origin = undefined;
      throw err;
    });
    return hs.origin;
  }

  /**
   * One HTTP exchange, no retry: a line for `--debug` with its answer or failure (`label`
   * names it without secrets); an abort is a CancelledError, other failures are thrown as they are.
   */
  async #dispatch(
    host: string,
    label: string,
    options: Omit<Dispatcher.RequestOptions, 'signal'>,
  ): Promise<Dispatcher.ResponseData> {
    try {
      const res = await (await this.#dispatcher(host)).request({ ...options, signal: this.#signal ?? null });
      this.debug(`${label} → ${res.statusCode}`);
      return res;
    } catch (err) {
      if (this.#signal?.aborted) throw new CancelledError();
      this.debug(`${label} failed: ${describeNetworkError(err)}`);
      throw err;
    }
  }

  /**
   * Pings `/v2/`: a loopback registry over plain HTTP first, as BuildKit speaks to one, then
   * HTTPS; an insecure one over HTTPS, then plain HTTP; others over HTTPS only. Only the last
   * scheme is retried. Plain HTTP tried first must answer as a registry does (200 or 401): a
   * TLS server answers 400 to it.
   */
  async #ping(hs: HostState): Promise<string> {
    const endpoint = endpointHost(hs.domain);
    const schemes = pingSchemes(hs.domain, this.#insecure);
    let lastError: unknown;
    for (const [i, scheme] of schemes.entries()) {
      const origin = `${scheme}://${endpoint}`;
      const last = i === schemes.length - 1;
      const ctx = last ? this.retries : { ...this.retries, policy: { ...this.retry, attempts: 1 } };
      try {
        return await withRetries(
          `pinging ${origin}/v2/`,
          ctx,
          async () => {
            const res = await this.#dispatch(hs.domain, `ping ${origin}/v2/`, {
              origin,
              path: '/v2/',
              method: 'GET',
              headers: { 'user-agent': this.#userAgent },
            });
            await res.body.dump();
            if (!last && scheme === 'http' && res.statusCode !== 200 && res.statusCode !== 401) {
              throw new RegistryError(`${origin}/v2/ answered ${res.statusCode}, not as a registry`);
            }
            if (res.statusCode === 401)
              hs.challenge = pickChallenge(parseChallenges(res.headers['www-authenticate']));
            return origin;
          },
          (err) => err,
        );
      } catch (err) {
        if (err instanceof CancelledError) throw err;
        lastError = err;
      }
    }
    throw new RegistryError(`cannot reach registry ${hs.domain}: ${describeNetworkError(lastError)}`, {
      cause: lastError,
    });
  }

  /**
   * Sends a request with authentication, retries (when `req.retry`) and redirects. The caller
   * reads or dumps the body. 401 after a fresh token is an AuthError naming the registry.
   */
  async send(domain: string, req: HttpRequest): Promise<HttpResponse> {
    const hs = this.#host(domain);
    let origin: string;
    try {
      origin = await this.origin(domain);
    } catch (err) {
      if (err instanceof RegistryError)
        throw new RegistryError(`${req.what}: ${err.message}`, { cause: err });
      throw err;
    }
    let url = new URL(req.path, origin);
    let scopes = [...req.scopes];
    let authRetried = false;
    let redirects = 0;
    for (;;) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      const sameHost = url.host === new URL(origin).host;
      if (sameHost) {
        const auth = await this.#authorization(hs, scopes, req.what);
        if (auth) headers['authorization'] = auth;
      }
      const { res, attempts } = await this.#exchange(domain, url, headers, req);
      const status = res.statusCode;
      if (status === 401 && sameHost) {
        const ch = pickChallenge(parseChallenges(res.headers['www-authenticate']));
        const text = await res.body.text().catch(() => '');
        if (!authRetried && ch) {
          authRetried = true;
          if (ch.scheme === 'bearer') {
            scopes = mergeScopes([...scopes, ...challengeScopes(ch)]);
            hs.tokens.delete(mergeScopes(scopes).join(' '));
          }
          hs.challenge = ch;
          continue;
        }
        throw await this.#authError(hs, req.what, status, text);
      }
      if (status === 403 && sameHost) {
        const text = await res.body.text().catch(() => '');
        throw new AuthError(`${req.what}: ${domain} denied access: ${describeErrorResponse(status, text)}`);
      }
      const location = res.headers['location'];
      if (
        (status === 301 || status === 302 || status === 303 || status === 307 || status === 308) &&
        (req.method === 'GET' || req.method === 'HEAD') &&
        typeof location === 'string'
      ) {
        await res.body.dump();
        if (++redirects > 10) throw new RegistryError(`${req.what}: too many redirects from ${domain}`);
        url = new URL(location, url);
        continue;
      }
      return { status, headers: res.headers, body: res.body, url: url.href, attempts };
    }
  }

  /**
   * The request to one URL with given headers: the retry layer, under the answer to a 401 and
   * redirects. Sent once unless `req.retry`; the body factory is called for each try.
   */
  async #exchange(
    domain: string,
    url: URL,
    headers: Record<string, string>,
    req: HttpRequest,
  ): Promise<{ res: Dispatcher.ResponseData; attempts: number }> {
    let attempts = 0;
    const once = async (last: boolean) => {
      attempts++;
      const body = typeof req.body === 'function' ? await req.body() : req.body;
      return this.#try(last, {
        host: domain,
        label: `${req.method} ${redacted(url)}`,
        request: {
          origin: url.origin,
          path: url.pathname + url.search,
          method: req.method,
          headers,
          body: (body ?? null) as Dispatcher.DispatchOptions['body'],
        },
        failed: (detail) => `${req.what}: ${detail} from ${domain}`,
        fatal: (message, cause) => new RegistryError(message, { cause }),
      });
    };
    const res = req.retry ? await withRetries(req.what, this.retries, once) : await once(true);
    return { res, attempts };
  }

  /**
   * One try of a request, for `withRetries`: a broken connection that is worth another try is
   * a TemporaryError (other failures are `fatal`), and so is a 429/5xx answer — unless this is
   * the last try, which returns whatever was answered. Messages are `failed(detail)`.
   */
  async #try(
    last: boolean,
    t: {
      host: string;
      label: string;
      request: Omit<Dispatcher.RequestOptions, 'signal'>;
      failed: (detail: string) => string;
      fatal: (message: string, cause: unknown) => Error;
    },
  ): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#dispatch(t.host, t.label, t.request);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      const message = t.failed(describeNetworkError(err));
      throw isRetryableNetworkError(err)
        ? new TemporaryError(message, { cause: err })
        : t.fatal(message, err);
    }
    if (last || !isRetryableStatus(res.statusCode)) return res;
    await res.body.dump();
    throw new TemporaryError(t.failed(describeErrorResponse(res.statusCode, '')), {
      status: res.statusCode,
      retryAfterMs: retryAfterOf(res.headers),
    });
  }

  async #authError(hs: HostState, what: string, status: number, body: string): Promise<AuthError> {
    const creds = await this.#creds(hs);
    const detail = describeErrorResponse(status, body);
    if (!creds) {
      return new AuthError(
        `${what}: ${hs.domain} requires authentication; log in with \`polyarch login ${hs.domain}\``,
      );
    }
    return new AuthError(`${what}: ${hs.domain} refused the credentials${who(creds)} (${detail})`);
  }

  async #authorization(hs: HostState, scopes: readonly string[], what: string): Promise<string | undefined> {
    const ch = hs.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const creds = await this.#creds(hs);
      if (creds?.username === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
    }
    if (ch.scheme === 'bearer') return `Bearer ${await this.#token(hs, ch, scopes, what)}`;
    return undefined;
  }

  #token(hs: HostState, ch: Challenge, scopes: readonly string[], what: string): Promise<string> {
    const merged = mergeScopes(scopes);
    const key = merged.join(' ');
    const cached = hs.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return Promise.resolve(cached.token);
    let p = hs.pending.get(key);
    if (!p) {
      p = this.#fetchToken(hs, ch, merged, what).then(
        (t) => {
          hs.pending.delete(key);
          hs.tokens.set(key, {
            token: t.token,
            expiresAt: Date.now() + Math.max(10, t.expiresIn - 10) * 1000,
          });
          return t.token;
        },
        (err) => {
          hs.pending.delete(key);
          throw err;
        },
      );
      hs.pending.set(key, p);
    }
    return p;
  }

  async #fetchToken(
    hs: HostState,
    ch: Challenge,
    scopes: readonly string[],
    what: string,
  ): Promise<{ token: string; expiresIn: number }> {
    const realm = ch.params['realm'];
    if (!realm) throw new AuthError(`${what}: ${hs.domain} asked for a bearer token without a realm`);
    let realmURL: URL;
    try {
      realmURL = new URL(realm);
    } catch {
      throw new AuthError(`${what}: ${hs.domain} named an invalid token realm "${realm}"`);
    }
    if (realmURL.protocol === 'http:' && !allowsInsecure(realmURL.host, this.#insecure)) {
      throw new AuthError(
        `${what}: ${hs.domain} named a plain-HTTP token realm (${realmURL.host}); refusing to send credentials`,
      );
    }
    const service = ch.params['service'];
    const creds = await this.#creds(hs);
    const realmName = realmURL.host;
    const headers: Record<string, string> = { 'user-agent': this.#userAgent };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    const url = new URL(realmURL);
    if (creds?.identityToken) {
      method = 'POST';
      const form = new URLSearchParams();
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', creds.identityToken);
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      form.set('client_id', 'polyarch');
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds?.username !== undefined) {
        url.searchParams.set('account', creds.username);
        headers['authorization'] =
          `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
      }
    }
    const fatal = (message: string, cause: unknown) => new AuthError(message, { cause });
    const res = await withRetries(
      what,
      this.retries,
      (last) =>
        this.#try(last, {
          host: realmURL.host,
          label: `${method} token ${url.origin}${url.pathname} (${scopes.join(' ')})`,
          request: {
            origin: url.origin,
            path: url.pathname + url.search,
            method,
            headers,
            body: body ?? null,
          },
          failed: (detail) => `${what}: getting a token from ${realmName} for ${hs.domain}: ${detail}`,
          fatal,
        }),
      (err, tries) => fatal(retriesExhausted(what, err, tries).message, err),
    );
    const text = await res.body.text().catch(() => '');
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new AuthError(
        creds
          ? `${what}: ${hs.domain} refused the credentials${who(creds)} (token server ${realmName}: ${describeErrorResponse(res.statusCode, text)})`
          : `${what}: ${hs.domain} requires authentication (token server ${realmName} refused anonymous access); log in with \`polyarch login ${hs.domain}\``,
      );
    }
    if (res.statusCode !== 200) {
      throw new AuthError(
        `${what}: getting a token from ${realmName} for ${hs.domain}: ${describeErrorResponse(res.statusCode, text)}`,
      );
    }
    let json: { token?: string; access_token?: string; expires_in?: number };
    try {
      json = JSON.parse(text);
    } catch {
      throw new AuthError(
        `${what}: the token server ${realmName} of ${hs.domain} answered something that is not JSON`,
      );
    }
    const token = json.token ?? json.access_token;
    if (!token)
      throw new AuthError(`${what}: the token server ${realmName} of ${hs.domain} answered no token`);
    return {
      token,
      expiresIn: typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60,
    };
  }

  /**
   * Checks credentials against a registry (what `login` does): pings, then authenticates for
   * the registry itself (a token without scope, or basic auth on `/v2/`).
   */
  async verifyLogin(domain: string): Promise<void> {
    const hs = this.#host(domain);
    const res = await this.send(domain, {
      method: 'GET',
      path: '/v2/',
      scopes: [],
      retry: true,
      what: `logging in to ${domain}`,
    });
    const text = await res.body.text().catch(() => '');
    if (res.status !== 200) {
      throw new RegistryError(`logging in to ${domain}: ${describeErrorResponse(res.status, text)}`, {
        status: res.status,
      });
    }
    if (!hs.challenge) this.debug(`${domain} needs no authentication`);
  }
}

/** The wait a 429/503 answer asks for (`Retry-After`), in milliseconds. */
export function retryAfterOf(headers: HttpResponse['headers']): number | undefined {
  const v = headers['retry-after'];
  return parseRetryAfter(Array.isArray(v) ? v[0] : v, Date.now());
}

/** A URL for debug output: without its query, which may carry signatures (pre-signed blob URLs) or upload state. */
function redacted(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

function who(creds: Credentials): string {
  if (creds.username !== undefined && creds.username !== '') return ` for user "${creds.username}"`;
  if (creds.identityToken) return ' (identity token)';
  return '';
}

/** The challenge to answer: bearer when offered, else basic. */
function pickChallenge(chs: Challenge[]): Challenge | undefined {
  return chs.find((c) => c.scheme === 'bearer') ?? chs.find((c) => c.scheme === 'basic');
}
