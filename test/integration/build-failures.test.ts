/**
 * Builds that fail, are killed, or carry hostile input: each gives one clear message and
 * leaves the store as it was; a killed build leaves a store and cache the next build uses.
 * Also the layer format at the edges: whiteouts and opaque directories in a built layer.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch, startPolyarch, steps } from '../helpers/cli.js';
import { ensureBaseImages, fixturesDir, polyarchBin, tempDir } from '../helpers/fixtures.js';
import { skopeo, storedIndex, storedNames, storeIndexBytes, storeRef } from '../helpers/images.js';

before(() => {
  ensureBaseImages();
});

function context(dockerfile: string, files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

describe('a failing step', () => {
  test('prints the step, its output, the Dockerfile excerpt and the exit code; the store is unchanged', async () => {
    const root = tempDir();
    const ok = context('FROM localhost:5000/busybox:1.35\nRUN echo fine > /f\n');
    assert.equal((await polyarch(['build', '-t', 'keep', ok], { root })).code, 0);
    const before = storeIndexBytes(root);
    const bad = context(
      'FROM localhost:5000/busybox:1.35\nRUN echo fine > /f\nRUN echo "about to fail" && exit 3\nRUN echo never\n',
    );
    const r = await polyarch(['build', '--progress', 'plain', '-t', 'broken', bad], { root });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /#\d+ 0\.\d+ about to fail/);
    assert.match(r.stderr, /------\n > \[3\/4\] RUN echo "about to fail" && exit 3:\n/);
    assert.match(r.stderr, /Dockerfile:3\n-+\n/);
    assert.match(r.stderr, / {3}3 \| >>> RUN echo "about to fail" && exit 3\n/);
    assert.match(r.stderr, /did not complete successfully: exit code: 3/);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
    assert.equal(steps(r.stderr).length, 0, 'plain output is not JSON');
    assert.equal(storeIndexBytes(root), before, 'index.json unchanged');
  });

  test("a RUN on an image without its shell says so, in BuildKit's words and without internal paths", async () => {
    const r = await polyarch(['build', '--progress', 'plain', context('FROM scratch\nRUN true\n')], {
      root: tempDir(),
    });
    assert.equal(r.code, 1);
    const last = r.stderr.trim().split('\n').at(-1)!;
    assert.match(
      last,
      /^ERROR: failed to build: failed to solve: process "\/bin\/sh -c true" did not complete successfully: .*\/bin\/sh.*no such file or directory$/,
    );
    assert.doesNotMatch(last, /snapshots|merged/);
  });

  test('COPY of a missing file names the file and the line', async () => {
    const root = tempDir();
    const r = await polyarch(
      ['build', '--progress', 'plain', context('FROM localhost:5000/busybox:1.35\nCOPY missing.txt /x\n')],
      { root },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"\/missing\.txt": not found/);
    assert.match(r.stderr, /Dockerfile:2\n/);
    assert.deepEqual(storedNames(root), []);
  });

  test('a platform without an emulator stops the build before anything runs, naming the platform and the fix', async () => {
    const handler = '/proc/sys/fs/binfmt_misc/qemu-s390x';
    if (!existsSync(handler)) {
      const install = await polyarch(['emulators', 'install', 'linux/s390x']);
      assert.equal(install.code, 0, install.stderr);
    }
    writeFileSync(handler, '0');
    try {
      const root = tempDir();
      const r = await polyarch(
        [
          'build',
          '--progress',
          'rawjson',
          '--platform',
          'linux/amd64,linux/s390x',
          '-t',
          'needs-qemu',
          context('FROM localhost:5000/busybox:1.35\nRUN echo hi\n'),
        ],
        { root },
      );
      assert.notEqual(r.code, 0);
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      assert.match(last, /linux\/s390x/);
      assert.match(last, /polyarch emulators install/);
      assert.equal(steps(r.stderr, /RUN echo hi/).filter((s) => !s.cached).length, 0, 'no step started');
      assert.deepEqual(storedNames(root), []);
    } finally {
      writeFileSync(handler, '1');
    }
  });
});

describe('entitlements', () => {
  test('RUN --security=insecure needs --allow security.insecure, and then runs privileged', async () => {
    const root = tempDir();
    const ctx = context(
      'FROM localhost:5000/busybox:1.35\nRUN --security=insecure grep CapEff /proc/self/status\n',
    );
    const denied = await polyarch(['build', '--progress', 'plain', ctx], { root });
    assert.notEqual(denied.code, 0);
    assert.match(
      denied.stderr,
      /ERROR: .*entitlement security\.insecure is not allowed.*--allow security\.insecure/,
    );
    assert.match(denied.stderr, / {3}2 \| >>> RUN --security=insecure/);
    const allowed = await polyarch(['build', '--progress', 'plain', '--allow', 'security.insecure', ctx], {
      root,
    });
    assert.equal(allowed.code, 0, allowed.stderr);
    const capEff = /CapEff:\s+([0-9a-f]+)/.exec(allowed.stderr)?.[1] ?? '';
    assert.ok(BigInt(`0x${capEff}`) > 0xa80425fbn, `more than the default capabilities: ${capEff}`);
  });
});

describe('Ctrl-C in the middle of a build', () => {
  test('the step is CANCELED, the build says so as BuildKit does, without internal paths; the store is unchanged', async () => {
    const root = tempDir();
    const dir = tempDir();
    writeFileSync(join(dir, 'Dockerfile'), 'FROM localhost:5000/busybox:1.35\nRUN sleep 60\n');
    const p = startPolyarch(['build', '--progress', 'plain', '-t', 'interrupted', dir], { root });
    await p.waitFor(/#\d+ \[2\/2\] RUN sleep 60\n/);
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    p.child.kill('SIGINT');
    const r = await p.done;
    assert.ok(Date.now() - started < 10_000, 'it stops at once');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /#\d+ \[2\/2\] RUN sleep 60\n#\d+ CANCELED\n/);
    assert.match(r.stderr, /ERROR: failed to build: failed to solve: Canceled: context canceled\n$/);
    assert.doesNotMatch(r.stderr, /snapshots|merged/);
    assert.deepEqual(storedNames(root), []);
  });
});

describe('a reader that goes away (`polyarch … | head`)', () => {
  /** The IDs of the runc containers that the polyarch process `pid` still has. */
  const containersOf = (pid: number) =>
    execFileSync('runc', ['list', '-q'], { encoding: 'utf8' })
      .split('\n')
      .filter((id) => id.startsWith(`polyarch-${pid}-`));
  /** The mounts still under `root`. */
  const mountsUnder = (root: string) =>
    readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((line) => line.split(' ')[1]?.startsWith(`${root}/`));

  test('in the middle of a build: the step stops, 141 as SIGPIPE gives buildx; nothing left running or mounted, the store unchanged', async () => {
    const root = tempDir();
    const ok = context('FROM localhost:5000/busybox:1.35\nRUN echo fine > /f\n');
    assert.equal((await polyarch(['build', '-t', 'keep', ok], { root })).code, 0);
    const before = storeIndexBytes(root);
    const endless = context(
      'FROM localhost:5000/busybox:1.35\nRUN while true; do echo tick; sleep 0.1; done\n',
    );
    const p = startPolyarch(['build', '--progress', 'plain', '-t', 'piped', endless], { root });
    await p.waitFor(/#\d+ \S+ tick\n/);
    const started = Date.now();
    p.child.stderr!.destroy(); // progress goes to stderr: its reader has gone
    const r = await p.done;
    assert.ok(Date.now() - started < 10_000, 'it stops at once');
    assert.equal(r.code, 141);
    assert.deepEqual(containersOf(p.child.pid!), []);
    assert.deepEqual(mountsUnder(root), []);
    assert.equal(storeIndexBytes(root), before, 'index.json unchanged');
    const next = context('FROM localhost:5000/busybox:1.35\nRUN true\n');
    const again = await polyarch(['build', '--progress', 'plain', '-t', 'again', next], { root });
    assert.equal(again.code, 0, again.stderr);
  });

  test('of `run`: the container is stopped and removed, nothing left mounted, 141', async () => {
    const root = tempDir();
    const forever = ['sh', '-c', 'while true; do echo y; done'];
    const p = startPolyarch(['run', '--rm', 'localhost:5000/busybox:1.35', ...forever], { root });
    await new Promise((resolve) => p.child.stdout!.once('data', resolve));
    const started = Date.now();
    p.child.stdout!.destroy();
    const r = await p.done;
    assert.ok(Date.now() - started < 10_000, 'it stops at once');
    assert.equal(r.code, 141, r.stderr);
    assert.deepEqual(containersOf(p.child.pid!), []);
    assert.deepEqual(mountsUnder(root), []);
  });
});

describe('kill -9 in the middle of a build', () => {
  test('the next build succeeds from what the killed one left', async () => {
    const root = tempDir();
    const ctx = join(tempDir(), 'xx');
    cpSync(join(fixturesDir, 'seed-hello-xx'), ctx, { recursive: true });
    const child = spawn(polyarchBin, ['build', '--progress', 'rawjson', '-t', 'killed', ctx], {
      env: { ...process.env, POLYARCH_ROOT: root },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        seen += c.toString();
        // kill while the Go build (several seconds) is running
        if (/"name":"[^"]*RUN [^"]*go build[^"]*","started"/.test(seen)) resolve();
      });
      child.on('exit', () => reject(new Error(`build ended before the kill: ${seen.slice(-2000)}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const again = await polyarch(['build', '--progress', 'rawjson', '-t', 'killed', ctx], { root });
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    const cached = steps(again.stderr, /RUN go mod init/);
    assert.ok(
      cached.every((s) => s.cached),
      'steps finished before the kill are reused',
    );
    const run = await polyarch(['run', '--rm', 'killed'], { root });
    assert.equal(run.stdout.trim(), 'Hello, amd64!');
    // the store is a valid OCI layout an independent tool reads
    const top = storedIndex(root, 'killed') as unknown as { layers?: unknown[]; manifests?: unknown[] };
    assert.ok((top.layers ?? top.manifests ?? []).length >= 1);
    const check = await polyarch(['debug', 'check-store'], { root });
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});

describe('layers at the edges', () => {
  test('a deleted file and a replaced directory become a whiteout and an opaque directory', async () => {
    const root = tempDir();
    const ctx = context(
      'FROM localhost:5000/busybox:1.35\nRUN rm /etc/group && rm -rf /root && mkdir /root && touch /root/new\n',
    );
    const r = await polyarch(['build', '-t', 'whiteouts', ctx], { root });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const out = tempDir();
    skopeo(['copy', `oci:${join(root, 'content')}:${storeRef('whiteouts')}`, `oci:${out}:x`]);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(
      readFileSync(join(out, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8'),
    ) as { layers: { digest: string }[] };
    const top = join(out, 'blobs/sha256', manifest.layers.at(-1)!.digest.slice(7));
    const entries = execFileSync('tar', ['-tzf', top], { encoding: 'utf8' }).split('\n');
    assert.ok(entries.includes('etc/.wh.group'), entries.join(' '));
    assert.ok(entries.includes('root/.wh..wh..opq'), entries.join(' '));
    assert.ok(entries.includes('root/new'), entries.join(' '));
    const ls = await polyarch(
      ['run', '--rm', '--entrypoint', '/bin/sh', 'whiteouts', '-c', 'ls /etc; ls /root'],
      {
        root,
      },
    );
    assert.doesNotMatch(ls.stdout, /\bgroup\b/);
    assert.match(ls.stdout, /\bnew\b/);
  });

  test('ADD of an archive with entries that escape writes nothing outside the image', async () => {
    const root = tempDir();
    const ctx = context('FROM localhost:5000/busybox:1.35\nADD evil.tar /x/\n');
    const marker = `polyarch-escape-${process.pid}`;
    // ../ entry, absolute path, a symlink to / followed by a file through it
    execFileSync('python3', [
      '-c',
      `
import tarfile, io
with tarfile.open(${JSON.stringify(join(ctx, 'evil.tar'))}, 'w') as t:
    def add(name, data=b'x', **kw):
        i = tarfile.TarInfo(name); i.size = len(data)
        for k, v in kw.items(): setattr(i, k, v)
        t.addfile(i, io.BytesIO(data) if i.isreg() else None)
    add('../../../../tmp/${marker}-dotdot')
    add('/tmp/${marker}-abs')
    add('link', type=tarfile.SYMTYPE, linkname='/', size=0)
    add('link/tmp/${marker}-symlink')
    add('ok.txt', b'fine')
`,
    ]);
    const r = await polyarch(['build', '-t', 'evil', ctx], { root });
    for (const f of readdirSync('/tmp')) assert.ok(!f.startsWith(marker), `escaped to /tmp/${f}`);
    // the entries are neutralised as containerd does: each lands inside the image
    assert.equal(r.code, 0, r.stderr);
    const ls = await polyarch(
      [
        'run',
        '--rm',
        '--entrypoint',
        '/bin/sh',
        'evil',
        '-c',
        `cat /x/ok.txt; ls /tmp /x/tmp | grep -c ${marker}`,
      ],
      { root },
    );
    assert.equal(ls.stdout, 'fine3\n', ls.stderr);
  });
});
