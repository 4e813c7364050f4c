import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatInspection } from '../../src/cli/imagetools.js';
import { CancelledError, NotFoundError, RegistryError } from '../../src/errors.js';
import { parseAnnotation } from '../../src/exporter/annotations.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import {
  MediaTypeDockerManifest,
  MediaTypeDockerManifestList,
  MediaTypeImageIndex,
  MediaTypeImageManifest,
} from '../../src/oci/mediatypes.js';
import type { Descriptor, ImageIndex } from '../../src/oci/types.js';
import { parsePlatform } from '../../src/platforms/index.js';
import { parseImageReference } from '../../src/reference/index.js';
import {
  allowsInsecure,
  backoffDelay,
  combineIndex,
  credentialKey,
  DockerConfigCredentials,
  describeErrorResponse,
  endpointHost,
  type HelperRunner,
  isRetryableNetworkError,
  isRetryableStatus,
  localName,
  mergeScopes,
  nextLink,
  normalizeServer,
  parseChallenges,
  parseInsecureList,
  parseRetryAfter,
  pingSchemes,
  selectManifests,
  TemporaryError,
  withQuery,
  withRetries,
} from '../../src/registry/index.js';
import { tabwrite } from '../../src/tabwriter.js';
import { humanSize } from '../../src/units.js';
import { tempDir } from '../helpers/fixtures.js';

describe('WWW-Authenticate challenges', () => {
  test('bearer with quoted parameters', () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
    );
    assert.deepEqual(c, {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/busybox:pull',
      },
    });
  });
  test('basic, several challenges, escapes, token values and error params', () => {
    const cs = parseChallenges([
      'Basic realm="Registry \\"Realm\\""',
      'Bearer realm=https://x/t, error="insufficient_scope", scope="repository:a:pull repository:b:push"',
    ]);
    assert.equal(cs.length, 2);
    assert.deepEqual(cs[0], { scheme: 'basic', params: { realm: 'Registry "Realm"' } });
    assert.equal(cs[1]!.params['realm'], 'https://x/t');
    assert.equal(cs[1]!.params['error'], 'insufficient_scope');
  });
  test('scopes merge actions per resource, sorted', () => {
    assert.deepEqual(
      mergeScopes(['repository:b:push', 'repository:a:pull', 'repository:b:pull', 'registry:catalog:*']),
      ['registry:catalog:*', 'repository:a:pull', 'repository:b:pull,push'],
    );
  });
});

describe('hosts', () => {
  test('Docker Hub endpoint and credential key', () => {
    assert.equal(endpointHost('docker.io'), 'registry-1.docker.io');
    assert.equal(endpointHost('localhost:5000'), 'localhost:5000');
    assert.equal(credentialKey('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(credentialKey('ghcr.io'), 'ghcr.io');
  });
  test('normalizeServer is docker ConvertToHostname', () => {
    assert.equal(normalizeServer('https://localhost:5001/v2/'), 'localhost:5001');
    assert.equal(normalizeServer('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeServer('Registry.Example.com'), 'registry.example.com');
  });
  test('plain HTTP only for loopback and named insecure hosts', () => {
    for (const h of ['localhost:5000', 'localhost', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000'])
      assert.ok(allowsInsecure(h, []), h);
    for (const h of ['example.com', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com'])
      assert.ok(!allowsInsecure(h, []), h);
    const list = parseInsecureList('reg.lan:5000, http://other.lan ,');
    assert.deepEqual(list, ['reg.lan:5000', 'other.lan']);
    assert.ok(allowsInsecure('reg.lan:5000', list));
    assert.ok(!allowsInsecure('reg.lan:6000', list));
    assert.ok(allowsInsecure('other.lan:9999', list));
  });
  test('the ping tries plain HTTP first for loopback, HTTPS first for insecure hosts, HTTPS only else', () => {
    for (const h of ['localhost:5000', '127.0.0.1', '[::1]:5000'])
      assert.deepEqual(pingSchemes(h, []), ['http', 'https'], h);
    assert.deepEqual(pingSchemes('reg.lan:5000', ['reg.lan']), ['https', 'http']);
    assert.deepEqual(pingSchemes('reg.lan:5000', []), ['https']);
    assert.deepEqual(pingSchemes('docker.io', []), ['https']);
  });
});

describe('retries', () => {
  const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  test('exponential backoff with jitter, capped', () => {
    assert.equal(
      backoffDelay(1, policy, undefined, () => 0.5),
      100,
    );
    assert.equal(
      backoffDelay(3, policy, undefined, () => 0.5),
      400,
    );
    assert.equal(
      backoffDelay(10, policy, undefined, () => 0.5),
      1000,
    );
    assert.equal(
      backoffDelay(1, policy, undefined, () => 0),
      80,
    );
  });
  test('Retry-After wins, capped', () => {
    assert.equal(parseRetryAfter('3', 0), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(backoffDelay(1, policy, 300), 300);
    assert.equal(backoffDelay(1, policy, 30_000), 1000);
  });
  test('what is retryable', () => {
    for (const s of [429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s));
    for (const s of [400, 401, 403, 404, 501]) assert.ok(!isRetryableStatus(s));
    assert.ok(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' })));
    assert.ok(
      isRetryableNetworkError(
        new Error('wrapped', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) }),
      ),
    );
    assert.ok(!isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ENOTFOUND' })));
  });
});

describe('withRetries: the one retry loop', () => {
  const policy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
  const temporary = () => new TemporaryError('pulling x: 127.0.0.1:1 answered HTTP 503', { status: 503 });
  const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  test('a temporary failure is tried again, at most `attempts` times in all', async () => {
    const lasts: boolean[] = [];
    const value = await withRetries('pulling x', { policy }, async (last) => {
      lasts.push(last);
      if (lasts.length < 3) throw temporary();
      return 'ok';
    });
    assert.equal(value, 'ok');
    assert.deepEqual(lasts, [false, false, true], 'the last try knows it is the last');
  });

  test('out of tries: the last failure, how many tries it took, and nothing temporary', async () => {
    let tries = 0;
    await assert.rejects(
      withRetries('pulling x', { policy }, async () => {
        tries++;
        throw temporary();
      }),
      (e: Error) => {
        assert.ok(e instanceof RegistryError && !(e instanceof TemporaryError), String(e));
        assert.equal(e.message, 'pulling x: 127.0.0.1:1 answered HTTP 503 (after 3 attempts)');
        assert.equal((e as RegistryError).status, 503);
        return true;
      },
    );
    assert.equal(tries, 3);
    let raw = 0;
    await assert.rejects(
      withRetries('pulling x', { policy }, async () => {
        raw++;
        throw reset();
      }),
      { message: 'pulling x: socket hang up (ECONNRESET) (after 3 attempts)' },
    );
    assert.equal(raw, 3, 'a broken connection is retried too');
  });

  test('any other error ends it at once, as it is', async () => {
    let tries = 0;
    const missing = new NotFoundError('pulling x: not found');
    await assert.rejects(
      withRetries('pulling x', { policy }, async () => {
        tries++;
        throw missing;
      }),
      (e) => e === missing,
    );
    assert.equal(tries, 1);
  });

  test('nested: an outer loop does not try again what an inner one gave up on', async () => {
    let requests = 0;
    await assert.rejects(
      withRetries('pushing x', { policy }, () =>
        withRetries('pushing x: blob', { policy }, async () => {
          requests++;
          throw temporary();
        }),
      ),
      /\(after 3 attempts\)$/,
    );
    assert.equal(requests, 3, 'attempts, not attempts²');
  });

  test('Retry-After sets the wait (capped); every retry is a debug line', async () => {
    const lines: string[] = [];
    let tries = 0;
    await withRetries(
      'pulling x',
      { policy: { attempts: 2, baseDelayMs: 1, maxDelayMs: 30 }, debug: (l) => lines.push(l) },
      async () => {
        if (++tries === 1)
          throw new TemporaryError('pulling x: HTTP 429', { status: 429, retryAfterMs: 60_000 });
      },
    );
    assert.deepEqual(lines, ['pulling x: HTTP 429; retrying in 30 ms (attempt 2 of 2)']);
  });

  test('an aborted signal ends the wait and the loop with CancelledError', async () => {
    const ac = new AbortController();
    let tries = 0;
    const run = withRetries(
      'pulling x',
      { policy: { attempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 }, signal: ac.signal },
      async () => {
        tries++;
        throw temporary();
      },
    );
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(run, (e) => e instanceof CancelledError);
    assert.equal(tries, 1);
  });
});

test('registry error bodies become one line', () => {
  assert.equal(
    describeErrorResponse(
      404,
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}',
    ),
    'manifest unknown (MANIFEST_UNKNOWN)',
  );
  assert.equal(describeErrorResponse(502, '<html>'), 'HTTP 502 bad gateway');
});

test('pagination links and query building', () => {
  assert.equal(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"'), '/v2/a/tags/list?n=2&last=b');
  assert.equal(nextLink(undefined), undefined);
  assert.equal(
    withQuery('/v2/a/blobs/uploads/u?_state=x', 'digest', 'sha256:ab'),
    '/v2/a/blobs/uploads/u?_state=x&digest=sha256%3Aab',
  );
  assert.equal(withQuery('http://h/u', 'digest', 'd'), 'http://h/u?digest=d');
});

test('local names of pulled references', () => {
  assert.equal(localName(parseImageReference('busybox')), 'docker.io/library/busybox:latest');
  const d = digestOf('x');
  assert.equal(localName(parseImageReference(`localhost:5000/a:1@${d}`)), `localhost:5000/a@${d}`);
});

const md = (arch: string, variant?: string, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType: MediaTypeImageManifest,
  digest: digestOf(`${arch}${variant ?? ''}`),
  size: 100,
  platform: { os: 'linux', architecture: arch, ...(variant ? { variant } : {}) },
  ...extra,
});

describe('platform selection', () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      md('amd64'),
      md('arm64', 'v8'),
      md('arm', 'v7'),
      md('arm', 'v5'),
      {
        ...md('unknown'),
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      },
    ],
  };
  test('best match per platform, in index order', () => {
    const got = selectManifests(index, [parsePlatform('linux/arm/v6'), parsePlatform('linux/arm64')], 'x');
    assert.deepEqual(
      got.map((d) => d.platform),
      [
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
        { os: 'linux', architecture: 'arm', variant: 'v5' },
      ],
    );
  });
  test('all takes attestations too', () => {
    assert.equal(selectManifests(index, 'all', 'x').length, 5);
  });
  test('a missing platform lists what exists', () => {
    assert.throws(
      () => selectManifests(index, [parsePlatform('linux/s390x')], 'localhost:5000/x:1'),
      (e: Error & { code?: string }) =>
        e.code === 'NOT_FOUND' &&
        e.message ===
          'localhost:5000/x:1: no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64, linux/arm64/v8, linux/arm/v7, linux/arm/v5)',
    );
  });
});

describe('imagetools create: combineIndex', () => {
  const bytes = Buffer.from('{}');
  test('two OCI manifests make an OCI index laid out as buildx', () => {
    const a = md('amd64');
    const b = md('arm64');
    const out = combineIndex(
      [
        { descriptor: a, bytes },
        { descriptor: b, bytes },
      ],
      [],
    );
    const expected = {
      schemaVersion: 2,
      mediaType: MediaTypeImageIndex,
      manifests: [
        {
          mediaType: a.mediaType,
          digest: a.digest,
          size: 100,
          platform: { architecture: 'amd64', os: 'linux' },
        },
        {
          mediaType: b.mediaType,
          digest: b.digest,
          size: 100,
          platform: { architecture: 'arm64', os: 'linux' },
        },
      ],
    };
    assert.equal(out.bytes.toString(), JSON.stringify(expected, null, 2));
    assert.equal(out.descriptor.digest, digestOf(out.bytes));
    assert.equal(out.descriptor.mediaType, MediaTypeImageIndex);
  });
  test('Docker manifests make a manifest list; duplicates merge', () => {
    const a = md('amd64', undefined, { mediaType: MediaTypeDockerManifest });
    const idx = { ...a, mediaType: MediaTypeDockerManifestList, digest: digestOf('idx') as Digest };
    const out = combineIndex(
      [
        { descriptor: a, bytes },
        {
          descriptor: idx,
          bytes,
          manifests: [a, md('s390x', undefined, { mediaType: MediaTypeDockerManifest })],
        },
      ],
      [],
    );
    const parsed = JSON.parse(out.bytes.toString());
    assert.equal(parsed.mediaType, MediaTypeDockerManifestList);
    assert.equal(parsed.manifests.length, 2);
  });
  test('one index alone is returned byte for byte', () => {
    const raw = Buffer.from('{"schemaVersion":2,"manifests":[]}');
    const d: Descriptor = { mediaType: MediaTypeImageIndex, digest: digestOf(raw), size: raw.length };
    const out = combineIndex([{ descriptor: d, bytes: raw, manifests: [] }], []);
    assert.deepEqual(out.bytes, raw);
  });
  test('annotations: index and per-platform descriptors; Docker lists refuse them', () => {
    const out = combineIndex(
      [
        { descriptor: md('amd64'), bytes },
        { descriptor: md('arm64'), bytes },
      ],
      [
        parseAnnotation('index:org.opencontainers.image.title=t'),
        parseAnnotation('manifest-descriptor[linux/arm64]:k=v'),
        parseAnnotation('plain=x'),
        parseAnnotation('index,manifest-descriptor:both=y'),
      ],
    );
    const parsed = JSON.parse(out.bytes.toString());
    assert.deepEqual(parsed.annotations, { 'org.opencontainers.image.title': 't', plain: 'x', both: 'y' });
    assert.deepEqual(parsed.manifests[0].annotations, { both: 'y' });
    assert.deepEqual(parsed.manifests[1].annotations, { k: 'v', both: 'y' });
    assert.throws(
      () =>
        combineIndex(
          [{ descriptor: md('amd64', undefined, { mediaType: MediaTypeDockerManifest }), bytes }],
          [parseAnnotation('a=b')],
        ),
      /needs an OCI index/,
    );
    assert.throws(() => parseAnnotation('novalue'), /expected \[type\[platform\]:\]key=value/);
    assert.throws(
      () => combineIndex([{ descriptor: md('amd64'), bytes }], [parseAnnotation('manifest:a=b')]),
      /not supported/,
    );
  });
});

describe('output formats', () => {
  test('tabwriter pads columns per block as Go does', () => {
    assert.equal(tabwrite('Name:\tx\nMediaType:\ty\n'), 'Name:      x\nMediaType: y\n');
    assert.equal(tabwrite('\t\nManifests:\t\n'), '           \nManifests: \n');
    assert.equal(
      tabwrite('A\tB\tC\nlonger\tb\tc\n', { minwidth: 10, padding: 3 }),
      'A         B         C\nlonger    b         c\n',
    );
  });
  test('imagetools inspect prints buildx layout', () => {
    const ref = parseImageReference('localhost:5000/ref/hello:latest');
    const m1 = md('arm', 'v7', { mediaType: MediaTypeDockerManifest });
    const m2 = md('amd64', undefined, { mediaType: MediaTypeDockerManifest });
    const text = formatInspection(
      {
        name: 'localhost:5000/ref/hello:latest',
        descriptor: { mediaType: MediaTypeDockerManifestList, digest: digestOf('i'), size: 1 },
        raw: Buffer.from(''),
        manifests: [m1, m2],
      },
      ref,
    );
    assert.equal(
      text,
      [
        'Name:      localhost:5000/ref/hello:latest',
        `MediaType: ${MediaTypeDockerManifestList}`,
        `Digest:    ${digestOf('i')}`,
        '           ',
        'Manifests: ',
        `  Name:      localhost:5000/ref/hello:latest@${m1.digest}`,
        `  MediaType: ${MediaTypeDockerManifest}`,
        '  Platform:  linux/arm/v7',
        '             ',
        `  Name:      localhost:5000/ref/hello:latest@${m2.digest}`,
        `  MediaType: ${MediaTypeDockerManifest}`,
        '  Platform:  linux/amd64',
        '',
      ].join('\n'),
    );
  });
  test('human sizes as docker prints them', () => {
    assert.equal(humanSize(0, 3), '0B');
    assert.equal(humanSize(999, 3), '999B');
    assert.equal(humanSize(4_261_000, 3), '4.26MB');
    assert.equal(humanSize(217_437_775, 3), '217MB');
    assert.equal(humanSize(1_200_000_000, 3), '1.2GB');
  });
});

describe('docker config credentials', () => {
  const home = tempDir('polyarch-creds-');
  const calls: string[] = [];
  const helperStore = new Map<string, string>();
  const runHelper: HelperRunner = async (helper, action, input) => {
    calls.push(`${helper} ${action}`);
    if (action === 'get') {
      const v = helperStore.get(input.trim());
      return v
        ? { code: 0, stdout: v, stderr: '' }
        : { code: 1, stdout: 'credentials not found in native keychain', stderr: '' };
    }
    if (action === 'store') {
      const j = JSON.parse(input);
      helperStore.set(j.ServerURL, JSON.stringify(j));
      return { code: 0, stdout: '', stderr: '' };
    }
    const existed = helperStore.delete(input.trim());
    return existed
      ? { code: 0, stdout: '', stderr: '' }
      : { code: 1, stdout: 'credentials not found in native keychain', stderr: '' };
  };

  test('auths with auth and identitytoken, looked up by normalised server', async () => {
    const dir = join(home, 'a');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
          'http://reg.lan:5000': { identitytoken: 'rt' },
        },
      }),
    );
    const c = new DockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, home, runHelper });
    assert.deepEqual(await c.get('docker.io'), { username: 'hub', password: 'pw:with:colons' });
    assert.deepEqual(await c.get('reg.lan:5000'), { identityToken: 'rt' });
    assert.equal(await c.get('other:1'), undefined);
  });

  test('store and erase in the file, mode 0600, other settings kept', async () => {
    const dir = join(home, 'b');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ psFormat: 'x' }));
    const c = new DockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, home, runHelper });
    await c.store('localhost:5001', { username: 'u', password: 'p' });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.psFormat, 'x');
    assert.equal(cfg.auths['localhost:5001'].auth, Buffer.from('u:p').toString('base64'));
    assert.equal(statSync(join(dir, 'config.json')).mode & 0o777, 0o600);
    const fresh = new DockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, home, runHelper });
    assert.deepEqual(await fresh.get('localhost:5001'), { username: 'u', password: 'p' });
    assert.equal(await fresh.erase('localhost:5001'), true);
    assert.equal(await fresh.erase('localhost:5001'), false);
    assert.equal(
      await new DockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, home, runHelper }).get(
        'localhost:5001',
      ),
      undefined,
    );
  });

  test('credsStore and credHelpers go through the helper protocol', async () => {
    const dir = join(home, 'c');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ credsStore: 'store1', credHelpers: { 'special:1': 'helper2' } }),
    );
    const c = new DockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, home, runHelper });
    await c.store('localhost:5001', { username: 'u', password: 's3cret' });
    await c.store('docker.io', { identityToken: 'tok' });
    assert.deepEqual(await c.get('localhost:5001'), { username: 'u', password: 's3cret' });
    assert.deepEqual(await c.get('docker.io'), { identityToken: 'tok' });
    assert.equal(await c.get('special:1'), undefined);
    assert.ok(calls.includes('helper2 get'));
    const cfg = readFileSync(join(dir, 'config.json'), 'utf8');
    assert.ok(!cfg.includes('s3cret'), 'the secret stays out of config.json');
    assert.deepEqual(JSON.parse(cfg).auths['localhost:5001'], {});
    assert.equal(await c.erase('localhost:5001'), true);
    assert.equal(await c.get('localhost:5001'), undefined);
  });

  test('helper failures name the helper, never the secret', async () => {
    const dir = join(home, 'd');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'broken' }));
    const c = new DockerConfigCredentials({
      env: { DOCKER_CONFIG: dir },
      home,
      runHelper: async () => ({ code: 3, stdout: '', stderr: 'keychain locked\nmore' }),
    });
    await assert.rejects(c.get('localhost:5001'), /from docker-credential-broken: keychain locked$/);
  });
});
