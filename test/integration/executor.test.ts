/**
 * The executor against real runc, real overlayfs and a busybox rootfs unpacked by skopeo+umoci.
 * Runs as root.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelledError, ExecError } from '../../src/errors.js';
import { type ExecRequest, Executor } from '../../src/executor/index.js';
import { busyboxRootfs, listTree, mountOverlay, type Overlay, scratchDir } from './executor-fixtures.js';

let lower: string;
let executor: Executor;
let stateDir: string;
const overlays: Overlay[] = [];

interface Collected {
  exitCode: number;
  stdout: string;
  stderr: string;
  upper: string;
  merged: string;
}

/** Runs `req` (rootfs filled in) in a fresh overlay over the busybox rootfs. */
async function run(req: Omit<ExecRequest, 'rootfs'>, ex: Executor = executor): Promise<Collected> {
  const ovl = mountOverlay(lower);
  overlays.push(ovl);
  let stdout = '';
  let stderr = '';
  const r = await ex.run({
    ...req,
    rootfs: ovl.merged,
    stdout: (b) => {
      stdout += b.toString();
      req.stdout?.(b);
    },
    stderr: (b) => {
      stderr += b.toString();
      req.stderr?.(b);
    },
  });
  return { exitCode: r.exitCode, stdout, stderr, upper: ovl.upper, merged: ovl.merged };
}

const sh = (script: string) => ['/bin/sh', '-c', script];

function runcIds(): string[] {
  return execFileSync('runc', ['list', '-q'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '');
}

before(() => {
  lower = busyboxRootfs('linux/amd64');
  // users and groups for USER tests (appending keeps /etc's own timestamps)
  appendFileSync(join(lower, 'etc/passwd'), 'builder:x:1000:1000:Builder:/home/builder:/bin/sh\n');
  appendFileSync(
    join(lower, 'etc/group'),
    'builders:x:1000:\nextra:x:2000:builder\nother:x:3000:root,builder\n',
  );
  stateDir = scratchDir('state-');
  executor = new Executor({ stateDir });
});

after(() => {
  for (const o of overlays) o.unmount();
});

describe('executor (runc)', () => {
  test('returns exit codes; non-zero is a result, not an error', async () => {
    assert.equal((await run({ args: sh('exit 0') })).exitCode, 0);
    assert.equal((await run({ args: sh('exit 42') })).exitCode, 42);
    assert.equal((await run({ args: ['false'] })).exitCode, 1);
  });

  test('separates stdout and stderr and streams them as they come', async () => {
    const times: number[] = [];
    const start = Date.now();
    const r = await run({
      args: sh('echo out1; echo err1 >&2; sleep 1; echo out2'),
      stdout: () => times.push(Date.now() - start),
    });
    assert.equal(r.stdout, 'out1\nout2\n');
    assert.equal(r.stderr, 'err1\n');
    assert.ok(times.length >= 2, 'two separate chunks');
    assert.ok(times[times.length - 1]! - times[0]! >= 800, `first chunk came before the sleep: ${times}`);
  });

  test('passes env, adds the default PATH, and creates a missing cwd owned by the user', async () => {
    const r = await run({
      args: sh('echo "$FOO|$PATH"; pwd'),
      env: ['FOO=bar baz'],
      cwd: '/work/a/b',
      user: 'builder',
    });
    assert.equal(
      r.stdout,
      'bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/work/a/b\n',
    );
    assert.equal(statSync(join(r.upper, 'work/a/b')).uid, 1000);
    assert.equal(statSync(join(r.upper, 'work')).gid, 1000);
    const own = await run({ args: sh('echo $PATH'), env: ['PATH=/bin'] });
    assert.equal(own.stdout, '/bin\n');
  });

  test('resolves users by name, uid and uid:gid with supplementary groups', async () => {
    assert.equal(
      (await run({ args: ['id'] })).stdout,
      'uid=0(root) gid=0(root) groups=0(root),3000(other)\n',
    );
    assert.equal(
      (await run({ args: ['id'], user: 'builder' })).stdout,
      'uid=1000(builder) gid=1000(builders) groups=1000(builders),2000(extra),3000(other)\n',
    );
    assert.equal(
      (await run({ args: ['id'], user: '1000' })).stdout,
      'uid=1000(builder) gid=1000(builders) groups=1000(builders),2000(extra),3000(other)\n',
    );
    assert.equal(
      (await run({ args: ['id'], user: '1000:2000' })).stdout,
      'uid=1000(builder) gid=2000(extra) groups=2000(extra)\n',
    );
    assert.equal(
      (await run({ args: ['id'], user: 'builder:other' })).stdout,
      'uid=1000(builder) gid=3000(other) groups=3000(other)\n',
    );
    assert.equal((await run({ args: ['id'], user: '4242' })).stdout, 'uid=4242 gid=0(root) groups=0(root)\n');
    await assert.rejects(run({ args: ['id'], user: 'nosuchuser' }), (err: unknown) => {
      assert.ok(err instanceof ExecError);
      assert.match(err.message, /unable to find user nosuchuser: no matching entries in passwd file/);
      return true;
    });
  });

  test('host network sees the host interfaces; none has only loopback', async () => {
    const ifaces = (text: string) =>
      text
        .split('\n')
        .slice(2)
        .map((l) => l.split(':')[0]!.trim())
        .filter((x) => x !== '')
        .sort();
    const hostIfaces = ifaces(readFileSync('/proc/net/dev', 'utf8'));
    assert.ok(hostIfaces.length > 1, 'the host has more than lo');
    assert.deepEqual(ifaces((await run({ args: ['cat', '/proc/net/dev'] })).stdout), hostIfaces);
    const none = await run({ args: sh('cat /proc/net/dev; ip link show lo'), network: 'none' });
    assert.deepEqual(ifaces(none.stdout.split('1: lo')[0]!), ['lo']);
    assert.match(none.stdout, /1: lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  test('generates resolv.conf, hosts and hostname; leaves no mount stubs in the upper dir', async () => {
    const hostResolv = join(scratchDir('resolv-'), 'resolv.conf');
    writeFileSync(hostResolv, 'search example.com\nnameserver 127.0.0.53\noptions edns0\n');
    const ex = new Executor({ stateDir, resolvConf: hostResolv });
    const etcBefore = statSync(join(lower, 'etc'), { bigint: true });
    const r = await run(
      {
        args: sh('cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; hostname'),
        hostname: 'myhost',
        network: 'none',
        extraHosts: [{ host: 'registry.local', ip: '10.1.2.3' }],
      },
      ex,
    );
    const [resolv, hosts, hostname] = r.stdout.split('---\n');
    // the localhost resolver means nothing in a new network namespace: public ones replace it
    assert.equal(
      resolv,
      'search example.com\noptions edns0\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844',
    );
    assert.equal(
      hosts,
      '127.0.0.1\tlocalhost myhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tregistry.local\n',
    );
    assert.equal(hostname, 'myhost\nmyhost\n');
    // the busybox rootfs has no /proc, /dev, /sys, /etc/hosts …: runc made stubs, we removed them
    for (const p of ['proc', 'dev', 'sys']) assert.ok(!existsSync(join(lower, p)), `lower has no ${p}`);
    assert.deepEqual(listTree(r.upper), ['etc']);
    const etcAfter = statSync(join(r.upper, 'etc'), { bigint: true });
    assert.equal(etcAfter.mtimeNs, etcBefore.mtimeNs, '/etc keeps its mtime');

    const host = await run({ args: ['cat', '/etc/resolv.conf'], network: 'host' }, ex);
    assert.equal(host.stdout, 'search example.com\nnameserver 127.0.0.53\noptions edns0\n');
  });

  test('keeps what the process wrote next to a stub', async () => {
    const r = await run({ args: sh('echo hi > /etc/motd; mkdir -p /srv/x') });
    assert.deepEqual(listTree(r.upper), ['etc', 'etc/motd', 'srv', 'srv/x']);
  });

  test('runs in its own pid, uts and ipc namespaces', async () => {
    const r = await run({ args: sh('echo $$; ps -o pid | wc -l; readlink /proc/1/ns/ipc') });
    const [pid, psLines, ipcNs] = r.stdout.trim().split('\n');
    assert.equal(pid, '1');
    assert.ok(Number(psLines) <= 4, `ps shows few processes: ${psLines}`);
    assert.match(ipcNs!, /^ipc:\[\d+\]$/);
    assert.notEqual(ipcNs, readlinkSync('/proc/self/ns/ipc'));
    assert.equal((await run({ args: ['hostname'] })).stdout, 'buildkitsandbox\n');
  });

  test('mounts tmpfs with a size and binds ro and rw, removing their stubs', async () => {
    const host = scratchDir('bind-');
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    mkdirSync(join(host, 'rw'));
    const r = await run({
      args: sh(
        'grep " /mnt/t " /proc/mounts; echo x > /mnt/t/f && cat /mnt/t/f; cat /data/in/in.txt; ' +
          'touch /data/in/new 2>&1 || echo ro-enforced; echo w > /data/rw/written; echo done',
      ),
      mounts: [
        { type: 'tmpfs', target: '/mnt/t', size: 1024 * 1024 },
        { type: 'bind', source: host, target: '/data/in', readonly: true },
        { type: 'bind', source: join(host, 'rw'), target: '/data/rw' },
      ],
    });
    assert.match(r.stdout, /^tmpfs \/mnt\/t tmpfs rw,nosuid,nodev,relatime,size=1024k/);
    assert.match(r.stdout, /\nx\nfrom host\n/);
    assert.match(r.stdout, /Read-only file system\nro-enforced\ndone\n$/);
    assert.equal(readFileSync(join(host, 'rw', 'written'), 'utf8'), 'w\n');
    assert.ok(!existsSync(join(host, 'new')));
    assert.deepEqual(listTree(r.upper), ['etc']);
  });

  test('applies ulimits when asked', async () => {
    const r = await run({
      args: sh('ulimit -n; ulimit -Hn'),
      ulimits: [{ name: 'nofile', soft: 1000, hard: 2000 }],
    });
    assert.equal(r.stdout, '1000\n2000\n');
  });

  test('default capabilities are BuildKit’s; insecure gets all of ours', async () => {
    const eff = (text: string) => /CapEff:\s*([0-9a-f]+)/.exec(text)![1];
    const def = await run({ args: ['grep', 'Cap', '/proc/self/status'] });
    assert.equal(eff(def.stdout), '00000000a80425fb');
    const ins = await run({
      args: sh('grep Cap /proc/self/status; cat /proc/self/mountinfo'),
      security: 'insecure',
    });
    const ours = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    assert.equal(eff(ins.stdout), ours);
    // no masked paths, writable /sys
    assert.doesNotMatch(ins.stdout, / \/proc\/keys /);
    assert.match(ins.stdout, / \/sys rw,/);
    assert.match(def.stdout, /CapBnd:\s*00000000a80425fb/);
    const masked = await run({
      args: sh('grep -c " /proc/keys " /proc/self/mountinfo; grep " /sys " /proc/self/mountinfo'),
    });
    assert.match(masked.stdout, /^1\n.* \/sys ro,/);
  });

  test('a runtime failure is an ExecError carrying runc’s message', async () => {
    await assert.rejects(run({ args: ['/no/such/binary'] }), (err: unknown) => {
      assert.ok(err instanceof ExecError);
      assert.match(err.message, /^running "\/no\/such\/binary" in .*: runc: .*no such file or directory/);
      return true;
    });
  });

  test('cancellation kills the container within a second and leaves nothing behind', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const p = run({
      args: sh('echo started; exec sleep 1000'),
      signal: controller.signal,
      stdout: () => {
        abortedAt = Date.now();
        controller.abort(new Error('test abort'));
      },
    });
    await assert.rejects(p, CancelledError);
    const took = Date.now() - abortedAt;
    assert.ok(took < 1000, `cancelled in ${took}ms`);
    assert.deepEqual(
      runcIds().filter((id) => id.startsWith(`polyarch-${process.pid}-`)),
      [],
    );
    assert.deepEqual(
      readdirSync(stateDir).filter((n) => n.startsWith('polyarch-')),
      [],
    );
    assert.equal(spawnSync('pgrep', ['-f', 'sleep 1000']).status, 1, 'no sleep left');
    // already aborted: nothing starts
    await assert.rejects(run({ args: ['true'], signal: AbortSignal.abort() }), CancelledError);
  });

  test('removes containers and bundles of dead polyarch processes', async () => {
    const dead = spawnSync('true').pid!;
    const id = `polyarch-${dead}-1-deadbeef`;
    const ovl = mountOverlay(lower);
    overlays.push(ovl);
    const bundle = join(stateDir, id);
    mkdirSync(bundle);
    execFileSync('runc', ['spec', '--bundle', bundle]);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    config.root = { path: ovl.merged };
    config.process.terminal = false;
    config.process.args = ['sleep', '1000'];
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    execFileSync('runc', ['create', '--bundle', bundle, id], { stdio: 'ignore' });
    assert.ok(runcIds().includes(id));
    const fresh = new Executor({ stateDir });
    assert.deepEqual(await fresh.cleanupStale(), [id]);
    assert.ok(!runcIds().includes(id));
    assert.ok(!existsSync(bundle));
  });

  test('runs concurrently with unique container ids', async () => {
    const ids = new Set<string>();
    const results = await Promise.all(
      [1, 2, 3, 4].map(async (n) => {
        const ovl = mountOverlay(lower);
        overlays.push(ovl);
        let out = '';
        const r = await executor.run({
          rootfs: ovl.merged,
          args: sh(`sleep 0.2; echo ${n}`),
          stdout: (b) => (out += b),
        });
        ids.add(r.id);
        return [r.exitCode, out];
      }),
    );
    assert.deepEqual(results, [
      [0, '1\n'],
      [0, '2\n'],
      [0, '3\n'],
      [0, '4\n'],
    ]);
    assert.equal(ids.size, 4);
  });

  test('no-op overhead of running `true` is small', async (t) => {
    const ovl = mountOverlay(lower);
    overlays.push(ovl);
    await executor.run({ rootfs: ovl.merged, args: ['true'] });
    const n = 20;
    const start = performance.now();
    for (let i = 0; i < n; i++) await executor.run({ rootfs: ovl.merged, args: ['true'] });
    const perRun = (performance.now() - start) / n;
    t.diagnostic(`executor: ${perRun.toFixed(1)} ms per run of true`);
    const raw = performance.now();
    const bundle = scratchDir('bench-');
    execFileSync('runc', ['spec', '--bundle', bundle]);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    config.root = { path: ovl.merged, readonly: true };
    config.process.terminal = false;
    config.process.args = ['true'];
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    for (let i = 0; i < n; i++)
      execFileSync('runc', ['run', '--bundle', bundle, `polyarch-bench-${process.pid}-${i}`]);
    const rawPerRun = (performance.now() - raw) / n;
    t.diagnostic(`bare runc run (runc spec defaults): ${rawPerRun.toFixed(1)} ms per run`);
    assert.ok(perRun < 150, `${perRun} ms per run`);
  });
});
