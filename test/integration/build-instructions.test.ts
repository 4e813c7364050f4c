/**
 * Every Dockerfile instruction and its flags, built for real (runc, overlayfs, QEMU for
 * arm64) and checked from outside: the image config and history with skopeo reading the
 * store's OCI layout, and the filesystem by running the image.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch, steps } from '../helpers/cli.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';
import { storedConfig, storedIndex } from '../helpers/images.js';

const dockerfile = `# syntax=docker/dockerfile:1
ARG BASE=localhost:5000/busybox:1.35
FROM \${BASE} AS base
LABEL org.example.stage=base "org.example.multi word"="yes"
ENV GREETING=hello PATH=/opt/bin:$PATH
WORKDIR /work
RUN echo "$GREETING from $(uname -m)" > greeting.txt
ARG VERSION=1.0
RUN echo "version=$VERSION" > version.txt
COPY --chmod=0755 script.sh /opt/bin/script
COPY --chown=1000:1000 data/ /data/
COPY files/*.txt /wild/
ADD archive.tar.gz /unpacked/
RUN --mount=type=cache,target=/cache echo cached >> /cache/log && cp /cache/log /work/cache-log
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /work/tmpfs-ls
RUN --network=none sh -c 'cat /proc/net/dev | grep -c : > /work/netdevs'
USER nobody
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD ["true"]
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo onbuild > /tmp/onbuild.txt
ENTRYPOINT ["/opt/bin/script"]
CMD ["arg1"]

FROM localhost:5000/busybox:1.35 AS other
RUN echo other > /other.txt

FROM base AS final
COPY --from=other /other.txt /tmp/from-other.txt
COPY --from=localhost:5000/busybox:1.35 /etc/passwd /tmp/copied-passwd
RUN <<EOF
echo heredoc > /tmp/heredoc.txt
EOF
COPY <<EOT /tmp/inline.txt
inline file
EOT
`;

let ctx: string;
let root: string;

function makeContext(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  writeFileSync(join(dir, 'script.sh'), '#!/bin/sh\necho "script $*"\n', { mode: 0o644 });
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'a.txt'), 'A\n');
  mkdirSync(join(dir, 'files'));
  for (const f of ['one.txt', 'two.txt', 'three.md']) writeFileSync(join(dir, 'files', f), `${f}\n`);
  const src = tempDir();
  mkdirSync(join(src, 'pkg'));
  writeFileSync(join(src, 'pkg', 'inside.txt'), 'from the archive\n');
  execFileSync('tar', ['-czf', join(dir, 'archive.tar.gz'), '-C', src, 'pkg']);
  writeFileSync(join(dir, '.dockerignore'), 'secret.txt\n*.log\n');
  writeFileSync(join(dir, 'secret.txt'), 'do not send\n');
  writeFileSync(join(dir, 'build.log'), 'do not send\n');
  return dir;
}

/** `polyarch run` with a shell command, as root so it can read everything. */
async function sh(image: string, cmd: string, platform = 'linux/amd64'): Promise<string> {
  const r = await polyarch(
    ['run', '--rm', '--platform', platform, '--user', '0', '--entrypoint', '/bin/sh', image, '-c', cmd],
    { root },
  );
  assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  ensureBaseImages();
  await polyarch(['emulators', 'install', 'linux/arm64']);
  ctx = makeContext();
  root = tempDir();
  const r = await polyarch(
    [
      'build',
      '--progress',
      'rawjson',
      '--platform',
      'linux/amd64,linux/arm64',
      '-t',
      'instr',
      '--build-arg',
      'VERSION=2.0',
      ctx,
    ],
    { root },
  );
  assert.equal(r.code, 0, r.stderr.slice(-5000));
  assert.ok(
    steps(r.stderr, /ONBUILD RUN echo onbuild/).length > 0,
    'the ONBUILD trigger ran in the child stage',
  );
});

describe('image config matches what BuildKit writes', () => {
  test('the index has both platforms', () => {
    const index = storedIndex(root, 'instr');
    const plats = index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort();
    assert.deepEqual(plats, ['linux/amd64', 'linux/arm64']);
  });

  test('config fields', () => {
    const cfg = storedConfig(root, 'instr', 'linux/arm64');
    assert.equal(cfg.architecture, 'arm64');
    assert.equal(cfg.os, 'linux');
    const c = cfg.config!;
    assert.ok(c.Env?.includes('GREETING=hello'));
    assert.ok(
      c.Env?.includes('PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
      JSON.stringify(c.Env),
    );
    assert.equal(c.WorkingDir, '/work');
    assert.equal(c.User, 'nobody');
    assert.deepEqual(Object.keys(c.ExposedPorts ?? {}).sort(), ['53/udp', '8080/tcp']);
    assert.deepEqual(Object.keys(c.Volumes ?? {}), ['/data']);
    assert.equal(c.StopSignal, 'SIGTERM');
    assert.deepEqual(c.Healthcheck?.Test, ['CMD', 'true']);
    assert.equal(c.Healthcheck?.Interval, 30e9);
    assert.equal(c.Healthcheck?.Timeout, 5e9);
    assert.equal(c.Healthcheck?.Retries, 2);
    assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
    assert.deepEqual(c.Entrypoint, ['/opt/bin/script']);
    assert.deepEqual(c.Cmd, ['arg1']);
    assert.equal(c.Labels?.['org.example.stage'], 'base');
    assert.equal(c.Labels?.['org.example.multi word'], 'yes');
    assert.ok(!c.OnBuild || c.OnBuild.length === 0, 'ONBUILD triggers are consumed by the child stage');
  });

  test('history: one entry per instruction, BuildKit wording, aligned with the layers', () => {
    const cfg = storedConfig(root, 'instr', 'linux/amd64');
    const history = cfg.history ?? [];
    const withLayer = history.filter((h) => !h.empty_layer);
    assert.equal(withLayer.length, cfg.rootfs.diff_ids.length);
    const ours = history.filter((h) => h.comment === 'buildkit.dockerfile.v0').map((h) => h.created_by);
    const has = (s: string) => assert.ok(ours.includes(s), `${s} in ${JSON.stringify(ours, null, 1)}`);
    has('WORKDIR /work');
    has('ENV GREETING=hello PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    has('RUN |1 VERSION=2.0 /bin/sh -c echo "version=$VERSION" > version.txt # buildkit');
    has('COPY --chmod=0755 script.sh /opt/bin/script # buildkit');
    has('CMD ["arg1"]');
    has('ENTRYPOINT ["/opt/bin/script"]');
    has('USER nobody');
    has('EXPOSE map[53/udp:{} 8080/tcp:{}]');
  });
});

describe('the filesystem each instruction made', () => {
  test('RUN sees ENV and build args, per platform (arm64 under QEMU)', async () => {
    assert.equal((await sh('instr', 'cat /work/greeting.txt', 'linux/arm64')).trim(), 'hello from aarch64');
    assert.equal((await sh('instr', 'cat /work/greeting.txt')).trim(), 'hello from x86_64');
    assert.equal((await sh('instr', 'cat /work/version.txt')).trim(), 'version=2.0');
  });
  test('COPY --chmod, --chown, wildcards, directories', async () => {
    assert.equal((await sh('instr', 'stat -c %a /opt/bin/script')).trim(), '755');
    assert.equal((await sh('instr', 'stat -c %u:%g /data/a.txt')).trim(), '1000:1000');
    assert.equal((await sh('instr', 'ls /wild | sort | tr "\\n" " "')).trim(), 'one.txt two.txt');
  });
  test('ADD unpacks a local tar.gz', async () => {
    assert.equal((await sh('instr', 'cat /unpacked/pkg/inside.txt')).trim(), 'from the archive');
  });
  test('RUN --mount cache, tmpfs and --network=none', async () => {
    // the cache mount is shared by the two platforms' steps (sharing=shared, as BuildKit's):
    // the host's image saw its own line, and the other platform's when that one ran first
    assert.match((await sh('instr', 'cat /work/cache-log')).trim(), /^cached(\ncached)?$/);
    assert.equal((await sh('instr', 'cat /work/tmpfs-ls')).trim(), 'x');
    assert.equal(
      (await sh('instr', 'ls /scratch 2>/dev/null | wc -l')).trim(),
      '0',
      'tmpfs contents not committed',
    );
    assert.equal(
      (await sh('instr', 'ls /cache 2>/dev/null | wc -l')).trim(),
      '0',
      'cache contents not committed',
    );
    assert.equal((await sh('instr', 'cat /work/netdevs')).trim(), '1', 'only lo with --network=none');
  });
  test('COPY --from a stage and from an image, RUN and COPY heredocs, ONBUILD', async () => {
    assert.equal((await sh('instr', 'cat /tmp/from-other.txt')).trim(), 'other');
    assert.match(await sh('instr', 'cat /tmp/copied-passwd'), /^root:x:0:0/);
    assert.equal((await sh('instr', 'cat /tmp/heredoc.txt')).trim(), 'heredoc');
    assert.equal((await sh('instr', 'cat /tmp/inline.txt')).trim(), 'inline file');
    assert.equal((await sh('instr', 'cat /tmp/onbuild.txt')).trim(), 'onbuild');
  });
  test('run uses ENTRYPOINT and CMD, and the image user', async () => {
    const r = await polyarch(['run', '--rm', 'instr'], { root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'script arg1');
    const id = await polyarch(['run', '--rm', '--entrypoint', 'id', 'instr', '-u'], { root });
    assert.equal(id.stdout.trim(), '65534');
  });
  test('run -i passes standard input; without -i the process reads none', async () => {
    const withInput = await polyarch(
      ['run', '--rm', '-i', '--entrypoint', '/bin/sh', 'instr', '-c', 'cat; echo end'],
      {
        root,
        input: 'from stdin\n',
      },
    );
    assert.equal(withInput.stdout, 'from stdin\nend\n');
    const without = await polyarch(
      ['run', '--rm', '--entrypoint', '/bin/sh', 'instr', '-c', 'cat; echo end'],
      {
        root,
        input: 'ignored\n',
      },
    );
    assert.equal(without.stdout, 'end\n');
  });
  test('run returns the exit code of the process', async () => {
    const r = await polyarch(['run', '--rm', '--entrypoint', '/bin/sh', 'instr', '-c', 'exit 7'], { root });
    assert.equal(r.code, 7);
  });
});

describe('--target and .dockerignore', () => {
  test('--target builds only the named stage', async () => {
    const r = await polyarch(
      ['build', '--progress', 'rawjson', '--target', 'other', '-t', 'only-other', ctx],
      {
        root,
      },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.equal(steps(r.stderr, /RUN echo "\$GREETING/).length, 0, 'stage base was not built');
    assert.equal((await sh('only-other', 'cat /other.txt')).trim(), 'other');
  });
  test('.dockerignore keeps files out of the context', async () => {
    writeFileSync(join(ctx, 'Dockerfile.ctx'), 'FROM localhost:5000/busybox:1.35\nCOPY . /ctx/\n');
    const r = await polyarch(['build', '-f', join(ctx, 'Dockerfile.ctx'), '-t', 'ctx-copy', ctx], { root });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const files = (await sh('ctx-copy', 'ls -a /ctx | sort | tr "\\n" " "')).trim();
    assert.ok(files.includes('script.sh'), files);
    assert.ok(!files.includes('secret.txt'), files);
    assert.ok(!files.includes('build.log'), files);
  });
});

describe('WORKDIR as BuildKit commits it', () => {
  test('a layer for every path but / — an empty one when the directory exists — and history aligned', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nWORKDIR /tmp\nWORKDIR /newdir\nWORKDIR ..\nWORKDIR /\n',
    );
    const r = await polyarch(['build', '-t', 'workdirs', dir], { root });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const cfg = storedConfig(root, 'workdirs', 'linux/amd64');
    const ours = (cfg.history ?? []).filter((h) => h.comment === 'buildkit.dockerfile.v0');
    assert.deepEqual(
      ours.map((h) => [h.created_by, h.empty_layer === true]),
      [
        ['WORKDIR /tmp', false],
        ['WORKDIR /newdir', false],
        ['WORKDIR /', true],
        ['WORKDIR /', true],
      ],
    );
    const base = storedConfig(root, 'workdirs', 'linux/amd64').rootfs.diff_ids.length;
    const withLayer = (cfg.history ?? []).filter((h) => !h.empty_layer).length;
    assert.equal(withLayer, base, 'history and layers aligned');
    // the existing /tmp's layer is an empty tar
    const emptyTar = `sha256:${createHash('sha256').update(Buffer.alloc(1024)).digest('hex')}`;
    assert.equal(cfg.rootfs.diff_ids.at(-2), emptyTar);
  });

  test('a symlink in the image is followed inside it: WORKDIR through one makes nothing on the host', async () => {
    // the image's /app names a directory that exists on the host too
    const host = tempDir();
    const dir = tempDir();
    writeFileSync(
      join(dir, 'Dockerfile'),
      `FROM localhost:5000/busybox:1.35\nRUN ln -s ${host} /app\nWORKDIR /app/sub/deeper\nRUN pwd -P > /where\n`,
    );
    const r = await polyarch(['build', '-t', 'workdir-symlink', dir], { root });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.deepEqual(readdirSync(host), [], 'nothing made on the host');
    const inside = await sh(
      'workdir-symlink',
      `cat /where; test -d ${host}/sub/deeper && echo made-in-image`,
    );
    assert.equal(inside.trim(), `${host}/sub/deeper\nmade-in-image`);
  });
});

describe('proxy build args', () => {
  test('reach every RUN without an ARG line; stay out of history, config and the cache key', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nRUN env | grep -i _proxy= | sort > /proxies\n',
    );
    const build = (proxy: string) =>
      polyarch(
        [
          'build',
          '--progress',
          'rawjson',
          '--build-arg',
          `HTTP_PROXY=${proxy}`,
          '--build-arg',
          'no_proxy=localhost',
          '-t',
          'proxied',
          dir,
        ],
        { root },
      );
    const r = await build('http://proxy.example:3128');
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.doesNotMatch(r.stderr, /were not consumed/);
    assert.equal(
      await sh('proxied', 'cat /proxies'),
      'HTTP_PROXY=http://proxy.example:3128\nno_proxy=localhost\n',
    );
    const cfg = storedConfig(root, 'proxied', 'linux/amd64');
    assert.doesNotMatch(JSON.stringify(cfg.history), /HTTP_PROXY|no_proxy=|proxy\.example/);
    assert.doesNotMatch(JSON.stringify(cfg.config?.Env ?? []), /HTTP_PROXY|no_proxy/);
    // another proxy does not make the step run again (BuildKit keeps it out of the cache key)
    const again = await build('http://other.example:8080');
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    assert.ok(
      steps(again.stderr, /RUN env/).every((s) => s.cached),
      'the RUN came from the cache',
    );
  });
});

describe('RUN --mount=type=bind from the build context', () => {
  test('what the mount binds is in the cache key: an edit under it runs the step again, one elsewhere does not', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'f'), 'v1\n');
    writeFileSync(join(dir, 'elsewhere'), 'a\n');
    writeFileSync(
      join(dir, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nRUN --mount=type=bind,source=sub,target=/src cat /src/f > /out\n',
    );
    const build = () => polyarch(['build', '--progress', 'rawjson', '-t', 'bound', dir], { root });
    assert.equal((await build()).code, 0);
    assert.equal(await sh('bound', 'cat /out'), 'v1\n');
    writeFileSync(join(dir, 'elsewhere'), 'b\n');
    const other = await build();
    assert.ok(
      steps(other.stderr, /RUN --mount/).every((s) => s.cached),
      'an edit outside the mount leaves the step cached',
    );
    writeFileSync(join(dir, 'sub', 'f'), 'v2\n');
    const edited = await build();
    assert.equal(edited.code, 0, edited.stderr.slice(-3000));
    assert.ok(
      steps(edited.stderr, /RUN --mount/).every((s) => !s.cached),
      'the step ran again',
    );
    assert.equal(await sh('bound', 'cat /out'), 'v2\n');
  });
});

describe('COPY --chmod and the directories it creates', () => {
  test('a numeric mode applies to the directories the copy creates, as in BuildKit v0.24; the build check says so', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), 'x\n');
    writeFileSync(
      join(dir, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nCOPY --chmod=640 f /newdir/sub/\nCOPY --chmod=u+rw f /symbolic/\n',
    );
    const r = await polyarch(['build', '-t', 'chmod-dirs', dir], { root });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(
      r.stderr,
      /ChmodWithoutExecuteOnDirectories: COPY --chmod=640 also sets the mode of the directories it creates for \/newdir\/sub\/, which cannot be entered without an execute bit \(line 2\)/,
    );
    const modes = await sh('chmod-dirs', 'stat -c "%n %a" /newdir /newdir/sub /newdir/sub/f /symbolic');
    assert.equal(modes, '/newdir 640\n/newdir/sub 640\n/newdir/sub/f 640\n/symbolic 755\n');
  });
});

describe('history text quoted as Go quotes it', () => {
  test('CMD and ENTRYPOINT in history use %q, where it differs from JSON (control and non-breaking characters)', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nENTRYPOINT ["echo", "a\\u0001b"]\nCMD ["c\\u00a0d", "é"]\n',
    );
    const r = await polyarch(['build', '-t', 'quoted', dir], { root });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const history = (storedConfig(root, 'quoted', 'linux/amd64').history ?? []).map((h) => h.created_by);
    assert.ok(history.includes('ENTRYPOINT ["echo" "a\\x01b"]'), JSON.stringify(history));
    assert.ok(history.includes('CMD ["c\\u00a0d" "é"]'), JSON.stringify(history));
  });
});

describe('ONBUILD COPY --from a stage of the child Dockerfile', () => {
  test("a base image's trigger copies from a stage the child defines, which is built first", async () => {
    const parent = tempDir();
    writeFileSync(
      join(parent, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35\nONBUILD COPY --from=build /out/ /app/\nONBUILD RUN cat /app/x > /app/seen\n',
    );
    const p = await polyarch(['build', '-t', 'onbuild-parent', parent], { root });
    assert.equal(p.code, 0, p.stderr.slice(-3000));
    const child = tempDir();
    writeFileSync(
      join(child, 'Dockerfile'),
      'FROM localhost:5000/busybox:1.35 AS build\nRUN mkdir /out && echo from-build-stage > /out/x\n\nFROM onbuild-parent\nRUN cat /app/seen\n',
    );
    const r = await polyarch(['build', '--progress', 'plain', '-t', 'onbuild-child', child], { root });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /\[stage-1 2\/4\] ONBUILD COPY --from=build \/out\/ \/app\//);
    const run = await polyarch(['run', '--rm', 'onbuild-child', 'cat', '/app/seen'], { root });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'from-build-stage\n');
  });
});
