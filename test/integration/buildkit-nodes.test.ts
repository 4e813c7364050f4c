/**
 * Builder nodes on BuildKit, against a real one: Debian's dockerd 20.10 (whose built-in
 * BuildKit serves /grpc and /session) started in a network namespace of its own as a "remote
 * host" reached over tcp. The docker driver builds there and the images come back into the
 * local store (`run` works on each platform); a fleet of polyarch's own engine and that node
 * splits a three-platform build and joins it in the registry (skopeo reads the index, the
 * engine pulls and runs what polyarch pushed); the remote driver's gRPC path (the session
 * inside Control.Session) through a proxy that upgrades each connection through the Engine
 * API; an unreachable node said once, with builder, node and endpoint.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { BuildkitClient } from '../../src/buildkit/client.js';
import { engineUpgrade } from '../../src/buildkit/transport.js';
import { readTar } from '../../src/tar/index.js';
import { polyarch, startPolyarch } from '../helpers/cli.js';
import { type Dockerd, dockerMissing, startDockerd } from '../helpers/dockerd.js';
import { ensureBaseImages, fixturesDir, tempDir } from '../helpers/fixtures.js';

const skip = dockerMissing();
if (skip) console.log(`# buildkit-nodes: skipped: ${skip}`);

const skopeoRaw = (ref: string) =>
  new Promise<string>((resolve, reject) =>
    execFile('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );

/** Each connection accepted, carried on to the engine's BuildKit through an /grpc upgrade. */
function upgradeEach(engine: string): (c: net.Socket) => Promise<void> {
  return async (c) => {
    c.pause();
    try {
      const up = await engineUpgrade(engine, '/grpc', {}, 10_000);
      c.pipe(up).pipe(c);
      c.resume();
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    } catch {
      c.destroy();
    }
  };
}

function listening(server: net.Server): Promise<{ address: string; close(): void }> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ address: `tcp://127.0.0.1:${port}`, close: () => server.close() });
    }),
  );
}

/** A buildkitd-like gRPC endpoint: each connection upgraded through the engine's /grpc. */
function grpcProxy(engine: string): Promise<{ address: string; close(): void }> {
  return listening(net.createServer(upgradeEach(engine)));
}

/** A CA, a server certificate for `buildkit` and a client certificate, made by openssl. */
function makeCerts(dir: string): void {
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const selfSigned = (cn: string, name: string) =>
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    ]);
  selfSigned('test-ca', 'ca');
  selfSigned('other-ca', 'other');
  for (const [name, cn] of [
    ['server', 'buildkit'],
    ['client', 'polyarch'],
  ]) {
    ssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    writeFileSync(
      join(dir, `${name}.ext`),
      name === 'server' ? 'subjectAltName=DNS:buildkit\n' : 'extendedKeyUsage=clientAuth\n',
    );
    ssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ]);
  }
}

/** A TLS endpoint in front of the engine's BuildKit that requires a client certificate of `ca`. */
function tlsProxy(engine: string, dir: string): Promise<{ address: string; close(): void }> {
  const server = tls.createServer(
    {
      key: readFileSync(join(dir, 'server.key')),
      cert: readFileSync(join(dir, 'server.pem')),
      ca: readFileSync(join(dir, 'ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    upgradeEach(engine),
  );
  server.on('tlsClientError', () => {});
  return listening(server);
}

describe('builder nodes on BuildKit', { skip: skip !== undefined }, () => {
  const root = tempDir('polyarch-bk-');
  const ctx = join(tempDir(), 'seed-hello-xx');
  const env = { POLYARCH_ROOT: root, DOCKER_CONFIG: tempDir('polyarch-bk-config-') };
  const pa = (args: readonly string[]) => polyarch(args, { env });
  let remote: Dockerd;

  before(async () => {
    ensureBaseImages();
    const r = await pa(['emulators', 'install', 'linux/arm64', 'linux/arm']);
    assert.equal(r.code, 0, r.stderr);
    cpSync(join(fixturesDir, 'seed-hello-xx'), ctx, { recursive: true });
    remote = await startDockerd({ netns: true, bridge: true });
  });
  after(async () => {
    await remote?.stop();
  });

  test('docker driver: create, ls, inspect, then a three-platform build on the node into the local store', async () => {
    const host = remote.tcpHost!;
    assert.equal((await pa(['create', '--name', 'eng', '--driver', 'docker', host])).code, 0);
    const ls = await pa(['ls']);
    assert.match(ls.stdout, /^eng\s+docker\s*$/m);
    assert.match(
      ls.stdout,
      new RegExp(
        `^ \\\\_ eng0\\s+\\\\_ ${host.replace(/\./g, '\\.')}\\s+running\\s+20\\.10\\S*\\s+linux/amd64, linux/arm64`,
        'm',
      ),
    );
    const inspect = await pa(['inspect', 'eng']);
    assert.match(inspect.stdout, /^Driver:\s+docker$/m);
    assert.match(inspect.stdout, /^Platforms:\s+linux\/amd64, linux\/arm64, .*linux\/arm\/v7/m);

    const r = await pa([
      'build',
      '--builder',
      'eng',
      '--progress',
      'plain',
      '--platform',
      'linux/amd64,linux/arm64,linux/arm/v7',
      '-t',
      'hello-bk:1',
      ctx,
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    // the node's steps, named with their platform as BuildKit names a multi-platform build's
    assert.match(r.stderr, /\[linux\/arm64 builder \d\/\d\] RUN GOOS=\$TARGETOS/);
    assert.doesNotMatch(r.stderr, /polyarch-build-/, 'the temporary names in the engine are not shown');
    for (const [platform, greeting] of [
      ['linux/amd64', 'Hello, amd64!'],
      ['linux/arm64', 'Hello, arm64!'],
      ['linux/arm/v7', 'Hello, arm!'],
    ] as const) {
      const run = await pa(['run', '--rm', '--platform', platform, 'hello-bk:1']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), greeting, platform);
    }
    // nothing left behind in the engine
    const images = await remote.docker(['images', '--format', '{{.Repository}}']);
    assert.doesNotMatch(images.stdout, /polyarch-build-/);
  });

  test('du and prune ask the node for its build cache; rm forgets the node', async () => {
    const du = await pa(['du', '--builder', 'eng']);
    assert.equal(du.code, 0, du.stderr);
    assert.match(du.stdout, /^ID\s+RECLAIMABLE\s+SIZE\s+LAST ACCESSED$/m);
    const rows = du.stdout.split('\n').filter((l) => /^[a-z0-9]{20,}\*?\s+(true|false)\s/.test(l));
    assert.ok(rows.length > 0, du.stdout);
    const prune = await pa(['prune', '-f', '--all', '--builder', 'eng']);
    assert.equal(prune.code, 0, prune.stderr);
    const total = /^Total:\s+(\S+)$/m.exec(prune.stdout);
    assert.ok(total && total[1] !== '0B', prune.stdout);
    const after = await pa(['du', '--builder', 'eng']);
    const left = after.stdout.split('\n').filter((l) => /^[a-z0-9]{20,}\*?\s+(true|false)\s/.test(l));
    assert.ok(left.length < rows.length, after.stdout);
    assert.equal((await pa(['rm', 'eng'])).code, 0);
    assert.doesNotMatch((await pa(['ls'])).stdout, /^eng\s/m);
  });

  test('a fleet: the local engine for amd64, the remote node for arm; one index pushed, joined', async () => {
    const host = remote.tcpHost!;
    assert.equal(
      (await pa(['create', '--name', 'fleet', '--node', 'here', '--platform', 'linux/amd64'])).code,
      0,
    );
    const add = await pa([
      'create',
      '--append',
      '--name',
      'fleet',
      '--node',
      'armbox',
      '--driver',
      'docker',
      '--platform',
      'linux/arm64,linux/arm/v7',
      host,
    ]);
    assert.equal(add.code, 0, add.stderr);
    const ls = await pa(['ls']);
    assert.match(ls.stdout, /^ \\_ here\s+\\_ \S+\s+inactive\s+linux\/amd64\*/m);
    // configured platforms marked `*`, folded as buildx folds them (majors first)
    assert.match(
      ls.stdout,
      /^ \\_ armbox\s+\\_ tcp:\S+\s+running\s+\S+\s+linux\/amd64, linux\/arm64\*, linux\/arm\* \(\+2\)/m,
    );

    const name = 'localhost:5000/hello-fleet:1';
    const r = await pa([
      'build',
      '--builder',
      'fleet',
      '--progress',
      'plain',
      '--platform',
      'linux/amd64,linux/arm64,linux/arm/v7',
      '-t',
      name,
      '--push',
      ctx,
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /\[node here\] linux\/amd64\n/);
    assert.match(r.stderr, /\[node armbox\] linux\/arm64, linux\/arm\/v7\n/);
    const index = JSON.parse(await skopeoRaw(name));
    assert.deepEqual(
      index.manifests.map((m: { platform: Record<string, string> }) =>
        [m.platform.os, m.platform.architecture, m.platform.variant ?? ''].join('/'),
      ),
      ['linux/amd64/', 'linux/arm64/', 'linux/arm/v7'],
    );
    // the engine (the remote host) pulls and runs every platform polyarch pushed, and the
    // local store holds the same index
    for (const [platform, greeting] of [
      ['linux/amd64', 'Hello, amd64!'],
      ['linux/arm64', 'Hello, arm64!'],
      ['linux/arm/v7', 'Hello, arm!'],
    ] as const) {
      const pull = await remote.docker(['pull', '--platform', platform, name]);
      assert.equal(pull.code, 0, pull.stderr);
      const run = await remote.docker(['run', '--rm', '--network', 'none', '--platform', platform, name]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), greeting, platform);
      const local = await pa(['run', '--rm', '--platform', platform, name]);
      assert.equal(local.stdout.trim(), greeting, local.stderr);
    }
    const images = await pa(['images']);
    assert.match(
      images.stdout,
      /localhost:5000\/hello-fleet\s+1\s+\S+\s+linux\/amd64, linux\/arm64, linux\/arm\/v7/,
    );
  });

  test('a fleet with a node down at the start: built on the others, with a warning', async () => {
    const add = [
      'create',
      '--append',
      '--name',
      'fleet',
      '--node',
      'down',
      '--driver',
      'remote',
      'tcp://127.0.0.1:9',
    ];
    assert.equal((await pa(add)).code, 0);
    const dir = tempDir('polyarch-bk-down-');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM localhost:5000/busybox:1.35\nRUN uname -m > /arch\n');
    const r = await pa([
      'build',
      '--builder',
      'fleet',
      '--progress',
      'plain',
      '--platform',
      'linux/amd64,linux/arm64',
      '-t',
      'down:1',
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(
      r.stderr,
      /WARNING: builder fleet, node down: cannot reach tcp:\/\/127\.0\.0\.1:9: ECONNREFUSED \(building on the other nodes\)\n/,
    );
    assert.match(r.stderr, /\[node armbox\] linux\/arm64\n/);
    // and to an OCI archive that skopeo reads: a node's results go to every output
    const oci = join(dir, 'out.tar');
    const o = await pa([
      'build',
      '--builder',
      'fleet',
      '--platform',
      'linux/amd64,linux/arm64',
      '-o',
      `type=oci,dest=${oci}`,
      dir,
    ]);
    assert.equal(o.code, 0, o.stderr.slice(-2000));
    const index = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${oci}`]).toString());
    assert.equal(index.manifests.length, 2);
    assert.equal((await pa(['create', '--leave', '--name', 'fleet', '--node', 'down'])).code, 0);
  });

  test('remote driver: plain gRPC with the session inside Control.Session; the context as the daemon asks', async () => {
    const proxy = await grpcProxy(remote.host);
    try {
      const dir = tempDir('polyarch-bk-ctx-');
      writeFileSync(
        join(dir, 'Dockerfile'),
        'FROM localhost:5000/busybox:1.35\nCOPY . /ctx/\nRUN ls /ctx > /listing\n',
      );
      writeFileSync(join(dir, 'kept.txt'), 'kept\n');
      writeFileSync(join(dir, 'secret.key'), 'never sent\n');
      writeFileSync(join(dir, '.dockerignore'), '*.key\n');
      const bk = await BuildkitClient.connect({ driver: 'remote', address: proxy.address });
      try {
        const workers = await bk.listWorkers();
        assert.ok(workers[0]?.platforms.some((p) => p.architecture === 'arm64'));
        const tarball = new PassThrough();
        const files = (async () => {
          const out = new Map<string, string>();
          for await (const e of readTar(tarball)) {
            const chunks: Buffer[] = [];
            for await (const c of e.body) chunks.push(c);
            out.set(e.header.path.toString(), Buffer.concat(chunks).toString());
          }
          return out;
        })();
        const statuses: string[] = [];
        await bk.solve(
          {
            frontend: 'dockerfile.v0',
            frontendAttrs: { filename: 'Dockerfile' },
            exporters: [{ type: 'tar', attrs: {} }],
          },
          {
            session: {
              dirs: new Map([
                ['context', dir],
                ['dockerfile', dir],
              ]),
              env: {},
              fileSend: () => tarball,
            },
            onStatus: (s) => statuses.push(...(s.vertexes ?? []).map((v) => v.name)),
          },
        );
        const got = await files;
        assert.equal(got.get('ctx/kept.txt'), 'kept\n');
        assert.equal(got.has('ctx/secret.key'), false, 'an ignored file never reaches the daemon');
        assert.match(got.get('listing') ?? '', /Dockerfile\nkept.txt/);
        assert.ok(
          statuses.some((n) => /RUN ls \/ctx/.test(n)),
          statuses.join('; '),
        );
      } finally {
        bk.close();
      }
      // a build through the remote driver on a daemon without an oci exporter: one clear error
      assert.equal((await pa(['create', '--name', 'bkr', '--driver', 'remote', proxy.address])).code, 0);
      const ls = await pa(['ls']);
      assert.match(ls.stdout, /^ \\_ bkr0\s+\\_ tcp:\/\/127\.0\.0\.1:\d+\s+running/m);
      const r = await pa(['build', '--builder', 'bkr', '-t', 'x', ctx]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /node bkr0 \(tcp:\/\/127\.0\.0\.1:\d+\) cannot send images back: its BuildKit has no oci exporter/,
      );
    } finally {
      proxy.close();
    }
  });

  test('Ctrl-C cancels the solve on the node: its step stops there too', async () => {
    const dir = tempDir('polyarch-bk-cancel-');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM localhost:5000/busybox:1.35\nRUN sleep 61\n');
    assert.equal((await pa(['create', '--name', 'cancel', '--driver', 'docker', remote.tcpHost!])).code, 0);
    const p = startPolyarch(['build', '--builder', 'cancel', '--progress', 'plain', dir], { env });
    await p.waitFor(/#\d+ \[2\/2\] RUN sleep 61\n/);
    const sleeping = () => {
      try {
        return execFileSync('pgrep', ['-f', '^sleep 61$']).toString().trim() !== '';
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && !sleeping(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(sleeping(), 'the step runs on the node');
    p.child.kill('SIGINT');
    const r = await p.done;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ERROR: failed to build: failed to solve: Canceled: context canceled\n$/);
    for (let i = 0; i < 100 && sleeping(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(sleeping(), false, 'the daemon stopped the step');
  });

  test("a failing step on the node is reported as a local one: BuildKit's message, the Dockerfile excerpt", async () => {
    const dir = tempDir('polyarch-bk-fail-');
    writeFileSync(
      join(dir, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nRUN echo about to fail && false\n',
    );
    const r = await pa(['build', '--builder', 'cancel', '--progress', 'plain', dir]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /#\d+ \[2\/2\] RUN echo about to fail && false\n(#\d+ .*\n)*#\d+ \d+\.\d+ about to fail\n/,
    );
    // dockerd 20.10's BuildKit sends no errdefs.Source with its errors (a standalone BuildKit
    // does; unit/buildkit-wire reads one), so it has no Dockerfile excerpt to show
    assert.match(r.stderr, /ERROR: failed to build: failed to solve: .*exit code: 1\n$/);
  });

  test('remote driver over TLS: the CA, client certificate and server name of --driver-opt; a wrong CA said clearly', async () => {
    const certs = tempDir('polyarch-bk-tls-');
    makeCerts(certs);
    const proxy = await tlsProxy(remote.host, certs);
    try {
      const opts = `cacert=${join(certs, 'ca.pem')},cert=${join(certs, 'client.pem')},key=${join(certs, 'client.key')},servername=buildkit`;
      assert.equal(
        (await pa(['create', '--name', 'tls', '--driver', 'remote', '--driver-opt', opts, proxy.address]))
          .code,
        0,
      );
      const inspect = await pa(['inspect', 'tls']);
      assert.match(inspect.stdout, /^Status:\s+running$/m, inspect.stdout + inspect.stderr);
      assert.match(
        inspect.stdout,
        /^Driver Options:\s+cacert=".*ca\.pem" cert=".*client\.pem" key=".*client\.key" servername="buildkit"$/m,
      );
      const wrong = `cacert=${join(certs, 'other.pem')},cert=${join(certs, 'client.pem')},key=${join(certs, 'client.key')},servername=buildkit`;
      assert.equal(
        (await pa(['create', '--name', 'badtls', '--driver', 'remote', '--driver-opt', wrong, proxy.address]))
          .code,
        0,
      );
      const ls = await pa(['ls']);
      assert.match(ls.stdout, /^ \\_ badtls0\s+\\_ tcp:\S+\s+inactive/m);
      assert.match(
        ls.stderr,
        /Failed to get status for badtls \(badtls0\): cannot reach tcp:\S+: .*(certificate|SELF_SIGNED|verify)/i,
      );
      const nocert = `cacert=${join(certs, 'ca.pem')},servername=buildkit`;
      assert.equal(
        (
          await pa([
            'create',
            '--name',
            'nocert',
            '--driver',
            'remote',
            '--driver-opt',
            nocert,
            proxy.address,
          ])
        ).code,
        0,
      );
      const r = await pa(['build', '--builder', 'nocert', '-t', 'x', ctx]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('ERROR')).length,
        1,
        r.stderr,
      );
      assert.match(r.stderr, /ERROR: .*builder nocert, node nocert0[: ]/);
    } finally {
      proxy.close();
    }
  });

  test('an unreachable node: ls says why, a build fails first with builder, node and endpoint', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const endpoint = `tcp://127.0.0.1:${closed}`;
    assert.equal((await pa(['create', '--name', 'gone', '--driver', 'remote', endpoint])).code, 0);
    const ls = await pa(['ls']);
    assert.match(ls.stdout, /^ \\_ gone0\s+\\_ tcp:\/\/127\.0\.0\.1:\d+\s+inactive/m);
    assert.match(
      ls.stderr,
      new RegExp(`Failed to get status for gone \\(gone0\\): cannot reach ${endpoint}: ECONNREFUSED`),
    );
    const before = readFileSync(join(root, 'content', 'index.json'));
    const r = await pa(['build', '--builder', 'gone', '-t', 'never', ctx]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`ERROR: .*builder gone, node gone0: cannot reach ${endpoint}: ECONNREFUSED\n`),
    );
    assert.deepEqual(readFileSync(join(root, 'content', 'index.json')), before);
  });

  test('a node killed mid-build: named in the error, the store unchanged, the rerun builds only what failed', async () => {
    const far = await startDockerd({ netns: true, bridge: true });
    let again: Dockerd | undefined;
    try {
      const dir = tempDir('polyarch-bk-kill-');
      writeFileSync(
        join(dir, 'Dockerfile'),
        [
          'FROM localhost:5000/busybox:1.35',
          'ARG TARGETARCH',
          'RUN echo first-$TARGETARCH > /a',
          'ARG NAP=40',
          'RUN if [ "$TARGETARCH" = arm64 ]; then sleep $NAP; fi; echo done > /b',
          '',
        ].join('\n'),
      );
      assert.equal(
        (await pa(['create', '--name', 'kill', '--node', 'here', '--platform', 'linux/amd64'])).code,
        0,
      );
      const add = ['create', '--name', 'kill', '--driver', 'docker', '--platform', 'linux/arm64'];
      assert.equal((await pa([...add, '--append', '--node', 'far', far.tcpHost!])).code, 0);
      const before = readFileSync(join(root, 'content', 'index.json'));
      const args = [
        'build',
        '--builder',
        'kill',
        '--progress',
        'plain',
        '--platform',
        'linux/amd64,linux/arm64',
      ];
      const running = pa([...args, '-t', 'killed:1', dir]);
      await new Promise((r) => setTimeout(r, 15_000));
      far.kill();
      const r = await running;
      assert.equal(r.code, 1, r.stderr.slice(-2000));
      assert.match(
        r.stderr,
        /ERROR: failed to build: builder kill, node far \(tcp:\S+\): the connection to the daemon was lost \(building linux\/arm64\)\n/,
      );
      assert.match(r.stderr, /#\d+ \[linux\/amd64 2\/3\] RUN echo first-amd64 > \/a\n#\d+ DONE/);
      assert.deepEqual(readFileSync(join(root, 'content', 'index.json')), before, 'nothing named');
      // the node comes back at another address; the rerun takes the local platform's steps from the cache
      again = await startDockerd({ netns: true, bridge: true });
      assert.equal((await pa([...add, '--node', 'far', again.tcpHost!])).code, 0);
      const rerun = await pa([...args, '--build-arg', 'NAP=0', '-t', 'killed:1', dir]);
      assert.equal(rerun.code, 0, rerun.stderr.slice(-2000));
      assert.match(rerun.stderr, /#\d+ \[linux\/amd64 2\/3\] RUN echo first-amd64 > \/a\n#\d+ CACHED/);
      const run = await pa(['run', '--rm', '--platform', 'linux/arm64', 'killed:1', 'cat', '/a', '/b']);
      assert.equal(run.stdout, 'first-arm64\ndone\n', run.stderr);
    } finally {
      far.kill();
      await far.stop();
      await again?.stop();
    }
  });
});
