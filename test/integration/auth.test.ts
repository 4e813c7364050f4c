/**
 * Authentication against real registries: one with htpasswd basic auth, one with token auth
 * (a token server signing JWTs the registry verifies), credentials from docker's config.json,
 * identity tokens, a credential helper, and `polyarch login` / `logout` through the CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openContentStore } from '../../src/content/index.js';
import { AuthError } from '../../src/errors.js';
import { defaultHostPlatform } from '../../src/platforms/index.js';
import { parseImageReference } from '../../src/reference/index.js';
import {
  copyImage,
  DockerConfigCredentials,
  pullImage,
  RegistryClient,
  staticCredentials,
} from '../../src/registry/index.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';
import {
  runPolyarch,
  startRegistry,
  startTokenServer,
  type TestRegistry,
  type TokenServer,
  writeCredentialHelper,
} from '../helpers/registries.js';

const host = defaultHostPlatform();
const fast = { attempts: 2, baseDelayMs: 20, maxDelayMs: 100 };
const password = 'pa55-Secret-word';

function skopeoRaw(ref: string, creds: string): Buffer {
  return execFileSync('skopeo', [
    'inspect',
    '--raw',
    '--tls-verify=false',
    '--creds',
    creds,
    `docker://${ref}`,
  ]);
}

describe('basic auth (htpasswd)', () => {
  let reg: TestRegistry;
  const home = tempDir('polyarch-auth-basic-');
  const env = () => ({ DOCKER_CONFIG: join(home, 'docker'), POLYARCH_ROOT: join(home, 'root'), HOME: home });

  before(async () => {
    ensureBaseImages();
    reg = await startRegistry({ kind: 'htpasswd', users: { alice: password } });
    const c = new RegistryClient({
      credentials: staticCredentials({ [reg.host]: { username: 'alice', password } }),
      retry: fast,
    });
    await copyImage({
      client: c,
      src: parseImageReference('localhost:5000/busybox:1.35'),
      dst: parseImageReference(`${reg.host}/private/busybox:1.35`),
    });
    await c.close();
  });
  after(() => reg.stop());

  test('anonymous access is refused with the registry named and the fix', async () => {
    const r = await runPolyarch(['pull', `${reg.host}/private/busybox:1.35`], { env: env() });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim().split('\n').pop(),
      `ERROR: pulling ${reg.host}/private/busybox:1.35: ${reg.host} requires authentication; log in with \`polyarch login ${reg.host}\``,
    );
  });

  test('login with a wrong password says which registry refused whom, stores nothing, prints no secret', async () => {
    const r = await runPolyarch(['login', '-u', 'alice', '--password-stdin', reg.host], {
      env: env(),
      input: 'wrong-Secret\n',
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^ERROR: logging in to ${reg.host}: ${reg.host} refused the credentials for user "alice"`,
        'm',
      ),
    );
    assert.ok(!`${r.stdout}${r.stderr}`.includes('wrong-Secret'));
    assert.ok(!existsSync(join(home, 'docker', 'config.json')));
  });

  test('login, pull, push and logout through the CLI', async () => {
    const login = await runPolyarch(['login', '--debug', '-u', 'alice', '--password-stdin', reg.host], {
      env: env(),
      input: `${password}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout, 'Login Succeeded\n');
    assert.match(login.stderr, /WARNING! Your password will be stored unencrypted/);
    const cfg = JSON.parse(readFileSync(join(home, 'docker', 'config.json'), 'utf8'));
    assert.equal(cfg.auths[reg.host].auth, Buffer.from(`alice:${password}`).toString('base64'));
    assert.match(
      login.stderr,
      /^DEBUG: GET http:\/\/127\.0\.0\.1:\d+\/v2\/ → 200$/m,
      '--debug applies to login',
    );
    assert.ok(
      !login.stderr.includes(password) && !login.stderr.includes(cfg.auths[reg.host].auth),
      'no secret in debug output',
    );

    const pull = await runPolyarch(['pull', '-q', `${reg.host}/private/busybox:1.35`, '--debug'], {
      env: env(),
    });
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(pull.stdout, `${reg.host}/private/busybox:1.35\n`);
    assert.ok(
      !pull.stderr.includes(password) && !pull.stderr.includes(cfg.auths[reg.host].auth),
      'no secret in debug output',
    );
    assert.match(
      pull.stderr,
      /DEBUG: GET http:\/\/127\.0\.0\.1:\d+\/v2\/private\/busybox\/manifests\/1\.35 → 200/,
    );

    const tag = await runPolyarch(
      ['tag', `${reg.host}/private/busybox:1.35`, `${reg.host}/private/again:v1`],
      { env: env() },
    );
    assert.equal(tag.code, 0, tag.stderr);
    const push = await runPolyarch(['push', `${reg.host}/private/again:v1`], { env: env() });
    assert.equal(push.code, 0, push.stderr);
    assert.deepEqual(
      skopeoRaw(`${reg.host}/private/again:v1`, `alice:${password}`),
      skopeoRaw(`${reg.host}/private/busybox:1.35`, `alice:${password}`),
    );

    const logout = await runPolyarch(['logout', reg.host], { env: env() });
    assert.equal(logout.stdout, `Removing login credentials for ${reg.host}\n`);
    assert.equal(
      JSON.parse(readFileSync(join(home, 'docker', 'config.json'), 'utf8')).auths[reg.host],
      undefined,
    );
    const again = await runPolyarch(['logout', reg.host], { env: env() });
    assert.equal(again.stdout, `Not logged in to ${reg.host}\n`);
    const denied = await runPolyarch(['pull', `${reg.host}/private/busybox:1.35`], { env: env() });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /requires authentication/);
  });
});

describe('token auth', () => {
  let tokens: TokenServer;
  let reg: TestRegistry;
  const home = tempDir('polyarch-auth-token-');
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    DOCKER_CONFIG: join(home, 'docker'),
    POLYARCH_ROOT: join(home, 'root'),
    HOME: home,
    ...extra,
  });

  before(async () => {
    ensureBaseImages();
    tokens = await startTokenServer({ bob: password });
    reg = await startRegistry({ kind: 'token', tokenServer: tokens });
    const c = new RegistryClient({
      credentials: staticCredentials({ [reg.host]: { username: 'bob', password } }),
      retry: fast,
    });
    await copyImage({
      client: c,
      src: parseImageReference('localhost:5000/busybox:1.35'),
      dst: parseImageReference(`${reg.host}/team/busybox:1.35`),
    });
    await copyImage({
      client: c,
      src: parseImageReference('localhost:5000/busybox:1.35'),
      dst: parseImageReference(`${reg.host}/public/busybox:1.35`),
    });
    await c.close();
  });
  after(async () => {
    await reg.stop();
    await tokens.stop();
  });

  test('tokens are fetched per scope and reused across requests', async () => {
    tokens.requests.length = 0;
    const store = await openContentStore(join(home, 'lib-store'));
    const c = new RegistryClient({
      credentials: staticCredentials({ [reg.host]: { username: 'bob', password } }),
      retry: fast,
    });
    await pullImage({
      client: c,
      store,
      ref: parseImageReference(`${reg.host}/team/busybox:1.35`),
      platforms: 'all',
      host,
    });
    // 1 index + 7 manifests + 7 configs + 7 layers went through one token
    assert.equal(tokens.requests.length, 1, JSON.stringify(tokens.requests));
    assert.deepEqual(tokens.requests[0], {
      method: 'GET',
      scopes: ['repository:team/busybox:pull'],
      basic: true,
      account: 'bob',
    });
    await c.close();
    await store.close();
  });

  test('anonymous tokens reach public repositories only', async () => {
    const store = await openContentStore(join(home, 'anon-store'));
    const c = new RegistryClient({ retry: fast });
    await pullImage({ client: c, store, ref: parseImageReference(`${reg.host}/public/busybox:1.35`), host });
    await assert.rejects(
      pullImage({ client: c, store, ref: parseImageReference(`${reg.host}/team/busybox:1.35`), host }),
      (e: Error) => {
        assert.ok(e instanceof AuthError);
        assert.match(
          e.message,
          new RegExp(`^pulling ${reg.host}/team/busybox:1\\.35: ${reg.host} requires authentication`),
        );
        return true;
      },
    );
    await c.close();
    await store.close();
  });

  test('wrong credentials: the registry is named, the token server too', async () => {
    const r = await runPolyarch(['login', '-u', 'bob', '-p', 'nope-nope', reg.host], { env: env() });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `ERROR: logging in to ${reg.host}: ${reg.host} refused the credentials for user "bob" \\(token server 127\\.0\\.0\\.1:\\d+: invalid username or password \\(UNAUTHORIZED\\)\\)`,
      ),
    );
    assert.match(r.stderr, /WARNING! Using --password via the CLI is insecure/);
    assert.ok(!r.stderr.includes('nope-nope'));
  });

  test('an identity token is exchanged by POST for access tokens', async () => {
    tokens.refreshTokens.set('refresh-123', 'bob');
    const dir = join(home, 'idtoken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { identitytoken: 'refresh-123' } } }),
    );
    tokens.requests.length = 0;
    const store = await openContentStore(join(home, 'id-store'));
    const c = new RegistryClient({
      credentials: new DockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, home }),
      retry: fast,
    });
    const r = await pullImage({
      client: c,
      store,
      ref: parseImageReference(`${reg.host}/team/busybox:1.35`),
      host,
    });
    assert.ok(r.manifests.length === 1);
    assert.deepEqual(
      tokens.requests.map((q) => `${q.method} ${q.grant ?? ''}`),
      ['POST refresh_token'],
    );
    await c.close();
    await store.close();
  });

  test('login and logout go through a configured credential helper', async () => {
    const bin = tempDir('polyarch-helper-bin-');
    writeCredentialHelper(bin, 'polyarchtest');
    const helperStore = join(home, 'helper-store.json');
    const dir = join(home, 'helper-docker');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'polyarchtest' }));
    const e = env({
      DOCKER_CONFIG: dir,
      PATH: `${bin}:${process.env['PATH']}`,
      POLYARCH_TEST_HELPER_STORE: helperStore,
    });
    const login = await runPolyarch(['login', '-u', 'bob', '--password-stdin', reg.host], {
      env: e,
      input: password,
    });
    assert.equal(login.code, 0, login.stderr);
    assert.ok(!login.stderr.includes('unencrypted'));
    assert.deepEqual(JSON.parse(readFileSync(helperStore, 'utf8'))[reg.host], {
      ServerURL: reg.host,
      Username: 'bob',
      Secret: password,
    });
    const cfg = readFileSync(join(dir, 'config.json'), 'utf8');
    assert.ok(!cfg.includes(password));
    assert.deepEqual(JSON.parse(cfg).auths, { [reg.host]: {} });

    const pull = await runPolyarch(
      ['pull', '-q', '--platform', 'linux/s390x', `${reg.host}/team/busybox:1.35`],
      { env: e },
    );
    assert.equal(pull.code, 0, pull.stderr);
    const push = await runPolyarch(['push', `${reg.host}/team/busybox:1.35`], { env: e });
    assert.equal(push.code, 0, push.stderr);

    const logout = await runPolyarch(['logout', reg.host], { env: e });
    assert.equal(logout.stdout, `Removing login credentials for ${reg.host}\n`);
    assert.equal(JSON.parse(readFileSync(helperStore, 'utf8'))[reg.host], undefined);
  });
});
