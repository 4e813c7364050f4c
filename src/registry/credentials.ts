/**
 * registry/credentials — registry credentials as docker keeps them: `config.json` in
 * `$DOCKER_CONFIG` or `~/.docker`, with `auths` (`auth` = base64 `user:password`,
 * `identitytoken` = an OAuth2 refresh token), `credsStore` (one helper for every registry) and
 * `credHelpers` (a helper per registry). A helper is the program `docker-credential-<name>`
 * speaking docker's protocol: `get` (server on stdin → `{"ServerURL","Username","Secret"}`),
 * `store` (that JSON on stdin), `erase` (server on stdin); a `Username` of `<token>` means the
 * secret is an identity token.
 *
 * Secrets never appear in errors: messages quote the helper's first line of output only for
 * `get`/`erase` failures (which carry no secret) and never the input.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileDurably } from '../durable.js';
import { AuthError, messageOf } from '../errors.js';
import { credentialKey, normalizeServer } from './hosts.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** an OAuth2 refresh token (docker's `identitytoken`), exchanged for access tokens by POST */
  identityToken?: string;
}

/** Where the registry client gets credentials from. */
export interface CredentialProvider {
  /** credentials for a registry, by its reference domain (`docker.io`, `localhost:5000`) */
  get(domain: string): Promise<Credentials | undefined>;
}

/** No credentials for anyone. */
export const anonymous: CredentialProvider = { get: async () => undefined };

/** Credentials given directly (tests, the API), by domain. */
export function staticCredentials(map: Record<string, Credentials>): CredentialProvider {
  return { get: async (domain) => map[domain] };
}

export interface HelperResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin. */
export type HelperRunner = (
  helper: string,
  action: 'get' | 'store' | 'erase',
  input: string,
) => Promise<HelperResult>;

/** The default runner: spawns the helper from `$PATH` of `env`. */
export function spawnHelperRunner(env: NodeJS.ProcessEnv): HelperRunner {
  return (helper, action, input) =>
    new Promise((resolve, reject) => {
      const child = spawn(`docker-credential-${helper}`, [action], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('error', (err) => {
        const notFound = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new AuthError(
            notFound
              ? `credential helper docker-credential-${helper} not found in $PATH`
              : `running docker-credential-${helper} ${action}: ${messageOf(err)}`,
            { cause: err },
          ),
        );
      });
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    });
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export interface DockerConfigOptions {
  /** `DOCKER_CONFIG`, `PATH` (for helpers) */
  env: NodeJS.ProcessEnv;
  /** the home directory (for `~/.docker`) */
  home: string;
  runHelper?: HelperRunner;
}

/** Where credentials of a registry are stored: a helper's name, or the config file. */
export interface CredentialLocation {
  helper?: string;
  file: string;
}

const notFoundRe = /credentials not found/i;

/** Docker's config.json and credential helpers: reads, stores and erases credentials. */
export class DockerConfigCredentials implements CredentialProvider {
  /** the config.json path */
  readonly path: string;
  readonly #run: HelperRunner;
  #config: Promise<DockerConfigFile> | undefined;

  constructor(opts: DockerConfigOptions) {
    const dir = opts.env['DOCKER_CONFIG'] || join(opts.home, '.docker');
    this.path = join(dir, 'config.json');
    this.#run = opts.runHelper ?? spawnHelperRunner(opts.env);
  }

  #read(): Promise<DockerConfigFile> {
    this.#config ??= readFile(this.path, 'utf8').then(
      (text) => {
        try {
          const c = JSON.parse(text) as DockerConfigFile;
          return c && typeof c === 'object' ? c : {};
        } catch (err) {
          throw new AuthError(`reading ${this.path}: not valid JSON (${messageOf(err)})`, { cause: err });
        }
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return {};
        throw new AuthError(`reading ${this.path}: ${messageOf(err)}`, { cause: err });
      },
    );
    return this.#config;
  }

  /** The helper configured for a registry, if any (credHelpers first, then credsStore). */
  async helperFor(domain: string): Promise<string | undefined> {
    const c = await this.#read();
    const key = credentialKey(domain);
    return c.credHelpers?.[key] ?? c.credHelpers?.[domain] ?? (c.credsStore || undefined);
  }

  async get(domain: string): Promise<Credentials | undefined> {
    const key = credentialKey(domain);
    const helper = await this.helperFor(domain);
    if (helper) {
      const r = await this.#run(helper, 'get', key);
      if (r.code !== 0) {
        if (notFoundRe.test(r.stdout) || notFoundRe.test(r.stderr)) return undefined;
        throw new AuthError(
          `getting credentials for ${domain} from docker-credential-${helper}: ${firstLine(r.stdout || r.stderr) || `exit status ${r.code}`}`,
        );
      }
      let parsed: { Username?: string; Secret?: string };
      try {
        parsed = JSON.parse(r.stdout);
      } catch {
        throw new AuthError(
          `getting credentials for ${domain} from docker-credential-${helper}: output is not JSON`,
        );
      }
      if (!parsed.Secret && !parsed.Username) return undefined;
      if (parsed.Username === '<token>') return { identityToken: parsed.Secret ?? '' };
      return { username: parsed.Username ?? '', password: parsed.Secret ?? '' };
    }
    const auths = (await this.#read()).auths ?? {};
    const want = normalizeServer(key);
    const entry = auths[key] ?? Object.entries(auths).find(([k]) => normalizeServer(k) === want)?.[1];
    if (!entry) return undefined;
    const out: Credentials = {};
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0)
        throw new AuthError(`reading ${this.path}: the "auth" of ${key} is not base64 of user:password`);
      out.username = decoded.slice(0, i);
      out.password = decoded.slice(i + 1);
    } else if (entry.username !== undefined) {
      out.username = entry.username;
      out.password = entry.password ?? '';
    }
    if (entry.identitytoken) out.identityToken = entry.identitytoken;
    return out.username !== undefined || out.identityToken ? out : undefined;
  }

  /** Stores credentials as `docker login` does (in the helper when one is configured). */
  async store(domain: string, creds: Credentials): Promise<CredentialLocation> {
    const key = credentialKey(domain);
    const helper = await this.helperFor(domain);
    const config = await this.#read();
    const auths = { ...(config.auths ?? {}) };
    if (helper) {
      const secretJSON = JSON.stringify({
        ServerURL: key,
        Username: creds.identityToken ? '<token>' : (creds.username ?? ''),
        Secret: creds.identityToken ?? creds.password ?? '',
      });
      const r = await this.#run(helper, 'store', secretJSON);
      if (r.code !== 0) {
        throw new AuthError(
          `storing credentials for ${domain} in docker-credential-${helper} failed (exit status ${r.code})`,
        );
      }
      auths[key] = {};
    } else {
      const entry: AuthEntry = {};
      if (creds.username !== undefined) {
        entry.auth = Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64');
      }
      if (creds.identityToken) entry.identitytoken = creds.identityToken;
      auths[key] = entry;
    }
    await this.#write({ ...config, auths });
    return helper ? { helper, file: this.path } : { file: this.path };
  }

  /** Removes credentials (from the helper and the file); answers whether there were any. */
  async erase(domain: string): Promise<boolean> {
    const key = credentialKey(domain);
    const helper = await this.helperFor(domain);
    let found = false;
    if (helper) {
      const r = await this.#run(helper, 'erase', key);
      if (r.code === 0) found = true;
      else if (!notFoundRe.test(r.stdout) && !notFoundRe.test(r.stderr)) {
        throw new AuthError(
          `erasing credentials for ${domain} from docker-credential-${helper}: ${firstLine(r.stdout || r.stderr) || `exit status ${r.code}`}`,
        );
      }
    }
    const config = await this.#read();
    const auths = { ...(config.auths ?? {}) };
    const want = normalizeServer(key);
    for (const k of Object.keys(auths)) {
      if (k === key || normalizeServer(k) === want) {
        delete auths[k];
        found = true;
      }
    }
    await this.#write({ ...config, auths });
    return found;
  }

  async #write(config: DockerConfigFile): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFileDurably(this.path, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
      this.#config = Promise.resolve(config);
    } catch (err) {
      throw new AuthError(`writing ${this.path}: ${messageOf(err)}`, { cause: err });
    }
  }
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.slice(0, 200) ?? '';
}
