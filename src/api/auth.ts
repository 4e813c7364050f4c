/**
 * api/auth — registry credentials as `docker login` and `docker logout` keep them: checked
 * against the registry (basic auth, or a token from its token server), then stored in the
 * credential helper that `credsStore`/`credHelpers` configure, else base64 in config.json
 * (`$DOCKER_CONFIG` or `~/.docker`). Every pull, push and build reads them from there.
 *
 *     await login(ctx, { server: 'localhost:5000', username: 'ci', password });
 *     await logout(ctx, { server: 'localhost:5000' });
 */
import { InvalidArgumentError } from '../errors.js';
import {
  type CredentialLocation,
  credentialKey,
  DockerConfigCredentials,
  normalizeServer,
  RegistryTransport,
  staticCredentials,
} from '../registry/index.js';
import { homeOf } from '../worker/root.js';
import { type PolyarchContext, transportOptionsOf } from './context.js';

export type { CredentialLocation } from '../registry/index.js';

function credentialsOf(ctx: PolyarchContext): DockerConfigCredentials {
  return new DockerConfigCredentials({ env: ctx.env, home: homeOf(ctx.env) });
}

export interface LoginRequest {
  /** `host[:port]`, or a URL of it (default: Docker Hub) */
  server?: string;
  username: string;
  password: string;
}

export interface LoginResult {
  /** the registry's domain (`docker.io` for Docker Hub) */
  server: string;
  /** where the credentials went: a credential helper, else the config file (unencrypted) */
  stored: CredentialLocation;
}

/** Checks the credentials against the registry, then stores them. */
export async function login(ctx: PolyarchContext, req: LoginRequest): Promise<LoginResult> {
  const server = normalizeServer(req.server ?? 'docker.io');
  const { username, password } = req;
  if (!username) throw new InvalidArgumentError('Username is required');
  if (!password) throw new InvalidArgumentError('Password is required');
  const transport = new RegistryTransport({
    ...transportOptionsOf(ctx),
    credentials: staticCredentials({ [server]: { username, password } }),
  });
  try {
    await transport.verifyLogin(server);
  } finally {
    await transport.close();
  }
  return { server, stored: await credentialsOf(ctx).store(server, { username, password }) };
}

export interface LogoutResult {
  /** the key the credentials were stored under (`https://index.docker.io/v1/` for Docker Hub) */
  server: string;
  /** false when there were none */
  removed: boolean;
}

/** Removes a registry's stored credentials, from its credential helper and config.json. */
export async function logout(ctx: PolyarchContext, req: { server?: string } = {}): Promise<LogoutResult> {
  const server = normalizeServer(req.server ?? 'docker.io');
  const removed = await credentialsOf(ctx).erase(server);
  return { server: credentialKey(server), removed };
}
