/**
 * test/helpers/registries — more real registries for tests, beside the fixture on :5000:
 * Debian's `docker-registry` (CNCF distribution) started on a free port with htpasswd basic
 * auth or token auth, a token server (JWTs signed with an openssl-made key, `x5c` header)
 * that the token registry trusts, and an HTTP proxy that can fail, throttle or cut responses
 * and counts the requests each of its rules matched.
 *
 * Everything started here is stopped when the test process exits.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { polyarchBin, tempDir } from './fixtures.js';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing answers at ${url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  dir: string;
  /** where the registry keeps blob `digest` (for tampering) */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: Record<string, string> }
  | { kind: 'token'; tokenServer: TokenServer };

/** An RSA key and a self-signed certificate for `cn` in `dir` (openssl), valid two days. */
function selfSignedCert(dir: string, cn: string): { keyPath: string; certPath: string } {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
    ].concat(['-subj', `/CN=${cn}`]),
    { stdio: 'ignore' },
  );
  return { keyPath, certPath };
}

/**
 * Starts a `docker-registry` on a free port with its storage in a temp dir; with `tls`, it
 * serves HTTPS only, with a self-signed certificate.
 */
export async function startRegistry(
  auth: RegistryAuth = { kind: 'none' },
  opts: { tls?: boolean } = {},
): Promise<TestRegistry> {
  const dir = tempDir('polyarch-registry-');
  const port = await freePort();
  mkdirSync(join(dir, 'data'));
  let tlsYaml = '';
  if (opts.tls) {
    const { keyPath, certPath } = selfSignedCert(dir, '127.0.0.1');
    tlsYaml = `  tls:\n    certificate: ${certPath}\n    key: ${keyPath}\n`;
  }
  let authYaml = '';
  if (auth.kind === 'htpasswd') {
    const lines = Object.entries(auth.users).map(([u, p]) =>
      execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim(),
    );
    writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.kind === 'token') {
    const t = auth.tokenServer;
    authYaml =
      `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n` +
      `    rootcertbundle: ${t.certPath}\n`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tlsYaml}${authYaml}`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => {
    log += d;
  });
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`);
  } catch (err) {
    kill();
    throw new Error(`registry did not start: ${log}`, { cause: err });
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    blobDataPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    stop: async () => {
      process.off('exit', kill);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface TokenRequest {
  method: string;
  account?: string;
  scopes: string[];
  grant?: string;
  basic: boolean;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** identity (refresh) tokens the server accepts, by the user they stand for */
  refreshTokens: Map<string, string>;
  /** every token request, for assertions (no secrets) */
  requests: TokenRequest[];
  stop(): Promise<void>;
}

/**
 * A token server for distribution's `auth.token`: GET with basic credentials (or none) and
 * POST `grant_type=refresh_token`; users get every action they ask for, anonymous callers get
 * `pull` on repositories under `public/` only.
 */
export async function startTokenServer(users: Record<string, string>): Promise<TokenServer> {
  const dir = tempDir('polyarch-token-');
  const { keyPath, certPath } = selfSignedCert(dir, 'polyarch-test-token-issuer');
  const key = readFileSync(keyPath);
  const certDer = Buffer.from(
    readFileSync(certPath, 'utf8')
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
      .replace(/\s+/g, ''),
    'base64',
  );
  const service = 'polyarch-test-registry';
  const issuer = 'polyarch-test-issuer';
  const refreshTokens = new Map<string, string>();
  const requests: TokenRequest[] = [];

  const issue = (user: string | undefined, scopes: string[]) => {
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      const name = rest.join(':');
      if (type !== 'repository') return [];
      const granted = user ? actions : name.startsWith('public/') ? actions.filter((a) => a === 'pull') : [];
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: user ?? '',
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      }),
    );
    const sig = b64url(sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), key));
    return `${header}.${claims}.${sig}`;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const reply = (status: number, json: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'POST') {
        const form = new URLSearchParams(body);
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        requests.push({ method: 'POST', scopes, grant: form.get('grant_type') ?? '', basic: false });
        const user = refreshTokens.get(form.get('refresh_token') ?? '');
        if (form.get('grant_type') !== 'refresh_token' || !user)
          return reply(401, { error: 'invalid_grant' });
        return reply(200, { access_token: issue(user, scopes), expires_in: 300 });
      }
      const scopes = url.searchParams.getAll('scope');
      const auth = req.headers.authorization;
      let user: string | undefined;
      if (auth?.startsWith('Basic ')) {
        const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (users[u!] === undefined || users[u!] !== p.join(':')) {
          requests.push({ method: 'GET', scopes, basic: true, account: u! });
          return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
        }
        user = u;
      }
      requests.push({ method: 'GET', scopes, basic: auth !== undefined, ...(user ? { account: user } : {}) });
      const out: Record<string, unknown> = { token: issue(user, scopes), expires_in: 300 };
      if (user && url.searchParams.get('offline_token') === 'true') {
        const rt = randomBytes(16).toString('hex');
        refreshTokens.set(rt, user);
        out['refresh_token'] = rt;
      }
      reply(200, out);
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    refreshTokens,
    requests,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

/** What the proxy does to a request whose path matches. */
export interface ProxyRule {
  match: RegExp;
  /** only for this method (default any) */
  method?: string;
  /** answer this status instead of forwarding, this many times */
  fail?: { status: number; times: number; retryAfter?: string };
  /** answer this response instead of forwarding (a registry serving what the one behind cannot) */
  respond?: { status: number; headers: Record<string, string>; body: string };
  /** forward, but cut the connection after this many bytes of the response body, this many times */
  cut?: { afterBytes: number; times: number };
  /** forward the body slowly: this many bytes per 10 ms */
  throttle?: { bytesPer10ms: number };
  /**
   * serve `/tags/list` in pages as the spec describes (`n`, `last`, `Link: <…>; rel="next"`),
   * from the full list of the registry behind (distribution 2.8 itself does not paginate)
   */
  paginateTags?: boolean;
  /** requests this rule matched, failed or forwarded (counted by the proxy) */
  hits?: number;
}

export interface TestProxy {
  host: string;
  port: number;
  rules: ProxyRule[];
  /** requests seen: `METHOD path range?` */
  log: string[];
  /** response body bytes forwarded for matching throttled/cut rules */
  bytesSent: number;
  stop(): Promise<void>;
}

/** An HTTP proxy on a free port (of `listen`, default 127.0.0.1) in front of `target` (`127.0.0.1:5000`). */
export async function startProxy(
  target: string,
  rules: ProxyRule[] = [],
  listen = '127.0.0.1',
): Promise<TestProxy> {
  const [thost, tport] = target.split(':');
  const agent = new Agent({ keepAlive: true });
  const state: TestProxy = { host: '', port: 0, rules, log: [], bytesSent: 0, stop: async () => {} };
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    state.log.push(`${req.method} ${path}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    const rule = state.rules.find((r) => r.match.test(path) && (!r.method || r.method === req.method));
    if (rule) rule.hits = (rule.hits ?? 0) + 1;
    if (rule?.fail && rule.fail.times > 0) {
      rule.fail.times--;
      req.resume();
      res.writeHead(rule.fail.status, rule.fail.retryAfter ? { 'retry-after': rule.fail.retryAfter } : {});
      res.end();
      return;
    }
    const paginate = rule?.paginateTags === true;
    const upPath = paginate ? path.replace(/\?.*$/, '') : path;
    if (rule?.respond) {
      req.resume();
      res.writeHead(rule.respond.status, rule.respond.headers);
      res.end(rule.respond.body);
      return;
    }
    const up = httpRequest(
      { host: thost, port: Number(tport), method: req.method, path: upPath, headers: req.headers, agent },
      (ures) => {
        if (paginate && ures.statusCode === 200) {
          let body = '';
          ures.on('data', (d) => {
            body += d;
          });
          ures.on('end', () => {
            const list = JSON.parse(body) as { name: string; tags: string[] };
            const q = new URL(path, 'http://x').searchParams;
            const n = Number(q.get('n') ?? '100');
            const last = q.get('last');
            const all = [...list.tags].sort();
            const rest = last ? all.filter((t) => t > last) : all;
            const page = rest.slice(0, n);
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            if (rest.length > n)
              headers['link'] = `<${upPath}?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
            res.writeHead(200, headers);
            res.end(JSON.stringify({ name: list.name, tags: page }));
          });
          return;
        }
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        const cut = rule?.cut && rule.cut.times > 0 ? rule.cut : undefined;
        if (cut) cut.times--;
        let sent = 0;
        ures.on('data', (chunk: Buffer) => {
          if (cut && sent + chunk.length > cut.afterBytes) {
            res.write(chunk.subarray(0, Math.max(0, cut.afterBytes - sent)));
            sent = cut.afterBytes;
            res.socket?.destroy();
            ures.destroy();
            return;
          }
          sent += chunk.length;
          if (rule?.throttle || rule?.cut) state.bytesSent += chunk.length;
          const ok = res.write(chunk);
          if (rule?.throttle) {
            ures.pause();
            setTimeout(() => ures.resume(), Math.ceil(chunk.length / rule.throttle!.bytesPer10ms) * 10);
          } else if (!ok) {
            ures.pause();
            res.once('drain', () => ures.resume());
          }
        });
        ures.on('end', () => res.end());
        ures.on('error', () => res.destroy());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, listen, () => r()));
  state.host = `${listen === '0.0.0.0' ? '127.0.0.1' : listen}:${port}`;
  state.port = port;
  state.stop = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
      agent.destroy();
    });
  return state;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI asynchronously (servers in this process keep answering). */
export function runPolyarch(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [polyarchBin, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Writes `docker-credential-<name>` (a small Node program keeping credentials in the JSON file
 * `$POLYARCH_TEST_HELPER_STORE`) into `dir`; put `dir` first in PATH to use it.
 */
export function writeCredentialHelper(dir: string, name: string): string {
  const path = join(dir, `docker-credential-${name}`);
  writeFileSync(
    path,
    `#!${process.execPath}
const fs = require('fs');
const file = process.env.POLYARCH_TEST_HELPER_STORE;
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
const db = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
const save = () => fs.writeFileSync(file, JSON.stringify(db));
if (action === 'store') { const j = JSON.parse(input); db[j.ServerURL] = j; save(); }
else if (action === 'get') {
  const k = input.trim();
  if (!db[k]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(JSON.stringify(db[k]));
} else if (action === 'erase') {
  const k = input.trim();
  if (!db[k]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  delete db[k]; save();
} else { process.stderr.write('unknown action'); process.exit(2); }
`,
    { mode: 0o755 },
  );
  return path;
}
