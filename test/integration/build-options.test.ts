/**
 * Build flags that change how steps run or what the cache may answer: --shm-size, --ulimit,
 * --no-cache-filter, --secret; and the buildx flags polyarch does not do yet, refused clearly.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch, readRawJSON, steps } from '../helpers/cli.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';

before(() => {
  ensureBaseImages();
});

function context(dockerfile: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

/** The output lines of the steps whose name matches. */
function output(stderr: string, match: RegExp): string {
  const { vertexes, logs } = readRawJSON(stderr);
  return [...vertexes.values()]
    .filter((v) => match.test(v.name))
    .map((v) => logs.get(v.digest) ?? '')
    .join('');
}

describe('how steps run', () => {
  test('--shm-size sizes /dev/shm and --ulimit sets limits', async () => {
    const ctx = context('FROM localhost:5000/busybox:1.35\nRUN df -k /dev/shm | tail -1 && ulimit -n\n');
    const r = await polyarch(
      ['build', '--progress', 'rawjson', '--shm-size', '32m', '--ulimit', 'nofile=1234:1234', ctx],
      { root: tempDir() },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = output(r.stderr, /RUN df/);
    assert.match(out, /\s32768\s+0\s+32768\s+0% \/dev\/shm/);
    assert.match(out, /^1234$/m);
  });

  test('--secret is readable by RUN --mount=type=secret and is not committed', async () => {
    const secret = join(tempDir(), 'token');
    writeFileSync(secret, 's3cr3t');
    const ctx = context(
      'FROM localhost:5000/busybox:1.35\nRUN --mount=type=secret,id=token cat /run/secrets/token > /seen && ls /run/secrets\n',
    );
    const root = tempDir();
    const r = await polyarch(
      ['build', '--progress', 'rawjson', '--secret', `id=token,src=${secret}`, '-t', 'sec', ctx],
      {
        root,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const seen = await polyarch(
      ['run', '--rm', 'sec', 'sh', '-c', 'cat /seen; ls /run/secrets 2>/dev/null | wc -l'],
      { root },
    );
    assert.equal(seen.stdout, 's3cr3t0\n');
    // a required secret that was not given stops the step with a message that says how to give it
    const required = context(
      'FROM localhost:5000/busybox:1.35\nRUN --mount=type=secret,id=token,required=true true\n',
    );
    const missing = await polyarch(['build', '--progress', 'plain', required], { root: tempDir() });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /secret token: not found \(pass it with --secret id=token,src=FILE\)/);
  });
});

describe('--no-cache-filter', () => {
  test('the named stage and what depends on it run again; other stages come from the cache', async () => {
    const ctx = context(
      'FROM localhost:5000/busybox:1.35 AS a\nRUN echo a > /a\nFROM localhost:5000/busybox:1.35 AS b\nRUN echo b > /b\nFROM b\nCOPY --from=a /a /a\nRUN cat /a /b\n',
    );
    const root = tempDir();
    assert.equal((await polyarch(['build', ctx], { root })).code, 0);
    const r = await polyarch(['build', '--progress', 'rawjson', '--no-cache-filter', 'a', ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    const ran = steps(r.stderr, /\] (RUN|COPY) /)
      .filter((s) => !s.cached)
      .map((s) => s.name.replace(/^\[[^\]]*\] /, ''))
      .sort();
    assert.deepEqual(ran, ['COPY --from=a /a /a', 'RUN cat /a /b', 'RUN echo a > /a']);
  });
});

describe('buildx flags polyarch does not do yet', () => {
  for (const [flags, message] of [
    [['--cache-from', 'type=inline'], /--cache-from type=inline: name the image instead/],
    [
      ['--cache-from', 'type=s3,region=x'],
      /--cache-from type=s3 is not supported: polyarch exports and imports caches of type local, registry and inline only/,
    ],
    [
      ['--cache-to', 'type=gha'],
      /--cache-to type=gha is not supported: polyarch exports and imports caches of type local, registry and inline only/,
    ],
    [
      ['--build-context', 'other=https://example.com/x.tar'],
      /only local directories and docker-image:\/\/ references/,
    ],
    [
      ['--build-context', 'other=/nonexistent-dir'],
      /--build-context other=\/nonexistent-dir: .* is not a directory/,
    ],
    [['--attest', 'type=vex'], /--attest: unknown attestation type "vex"/],
    [['--provenance', 'mode=all'], /--attest type=provenance: invalid mode "all"/],
    [
      ['--provenance', 'true', '--output', 'type=docker,dest=/tmp/x.tar'],
      /cannot export attestations with "oci-mediatypes=false"/,
    ],
  ] as const) {
    test(`${flags.join(' ')}: one clear error, nothing built`, async () => {
      const r = await polyarch(['build', ...flags, context('FROM localhost:5000/busybox:1.35\nRUN true\n')], {
        root: tempDir(),
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }
});

describe('build checks during a build', () => {
  test('warnings are listed under the progress and carried in rawjson; check=error=true fails the build', async () => {
    const ctx = context('FROM localhost:5000/busybox:1.35 as base\nRUN true\n');
    const plain = await polyarch(['build', '--progress', 'plain', ctx], { root: tempDir() });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stderr,
      /\n 1 warning found \(use --debug to expand\):\n - FromAsCasing: 'as' and 'FROM' keywords' casing do not match \(line 1\)\n$/,
    );
    const raw = await polyarch(['build', '--progress', 'rawjson', ctx], { root: tempDir() });
    const warnings = raw.stderr
      .split('\n')
      .filter((l) => l.includes('"warnings"'))
      .flatMap((l) => (JSON.parse(l) as { warnings: { short: string; url?: string }[] }).warnings);
    assert.equal(warnings.length, 1);
    assert.match(Buffer.from(warnings[0]!.short, 'base64').toString(), /^FromAsCasing: /);
    assert.match(warnings[0]!.url ?? '', /from-as-casing/);
    const strict = context('# check=error=true\nFROM localhost:5000/busybox:1.35 as base\nRUN true\n');
    const failed = await polyarch(['build', '--progress', 'plain', strict], { root: tempDir() });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /ERROR: Dockerfile:2:1: lint violation found for rules: FromAsCasing/);
  });
});

describe('image IDs', () => {
  test('what build -q prints names the image for run, also shortened to 12 digits', async () => {
    const root = tempDir();
    const ctx = context('FROM localhost:5000/busybox:1.35\nCMD ["echo", "by id"]\n');
    const one = await polyarch(['build', '-q', '-t', 'by-id', ctx], { root });
    assert.equal(one.code, 0, one.stderr);
    const id = one.stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    for (const name of [id, id.slice('sha256:'.length, 'sha256:'.length + 12)]) {
      const run = await polyarch(['run', '--rm', name], { root });
      assert.equal(run.stdout, 'by id\n', `${name}: ${run.stderr}`);
    }
    // the store's other commands take the same IDs
    const tagged = await polyarch(['tag', id.slice('sha256:'.length, 'sha256:'.length + 12), 'by-id-copy'], {
      root,
    });
    assert.equal(tagged.code, 0, tagged.stderr);
    assert.equal((await polyarch(['run', '--rm', 'by-id-copy'], { root })).stdout, 'by id\n');
    const multi = await polyarch(
      ['build', '-q', '--platform', 'linux/amd64,linux/arm64', '-t', 'by-id-multi', ctx],
      {
        root,
      },
    );
    const run = await polyarch(
      ['run', '--rm', '--platform', 'linux/arm64', multi.stdout.trim(), 'uname', '-m'],
      {
        root,
      },
    );
    assert.equal(run.stdout, 'aarch64\n', run.stderr);
    const missing = await polyarch(['run', '--rm', `sha256:${'0'.repeat(64)}`], { root });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ERROR: No such image: sha256:0{64} \(no local image has that ID\)\n$/);
  });
});

describe('concurrent builds in one root', () => {
  test('a step two builds need at the same time runs once; both get the image; the store verifies', async () => {
    const root = tempDir();
    const ctx = context('FROM localhost:5000/busybox:1.35\nRUN sleep 2 && date +%s%N > /made\n');
    const [a, b] = await Promise.all([
      polyarch(['build', '--progress', 'rawjson', '-t', 'one', ctx], { root }),
      polyarch(['build', '--progress', 'rawjson', '-t', 'two', ctx], { root }),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const ran = [a, b].map((r) => steps(r.stderr, /RUN sleep/).filter((s) => !s.cached).length);
    assert.deepEqual(ran.sort(), [0, 1], 'one build ran the step, the other took it from the cache');
    const made = await Promise.all(
      ['one', 'two'].map((n) => polyarch(['run', '--rm', n, 'cat', '/made'], { root })),
    );
    assert.equal(made[0]!.stdout, made[1]!.stdout);
    const check = await polyarch(['debug', 'check-store'], { root });
    assert.equal(check.code, 0, check.stdout);
  });
});

describe('--build-context', () => {
  test('an image for FROM, local directories for COPY --from and as a stage, a stage replaced', async () => {
    const dir = tempDir();
    const extra = join(dir, 'extra');
    const deps = join(dir, 'deps');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(extra);
    mkdirSync(deps);
    writeFileSync(join(extra, 'file.txt'), 'from extra\n');
    writeFileSync(join(deps, 'dep.txt'), 'from deps\n');
    // the `deps` stage would fail (missing file): the named context replaces it
    const ctx = context(
      'FROM scratch AS deps\nCOPY does-not-exist /\nFROM alpine\nCOPY --from=extra file.txt /extra.txt\nCOPY --from=deps dep.txt /dep.txt\nCMD ["cat", "/extra.txt", "/dep.txt"]\n',
    );
    const root = tempDir();
    const r = await polyarch(
      [
        'build',
        '--progress',
        'plain',
        '--build-context',
        'alpine=docker-image://localhost:5000/busybox:1.35',
        '--build-context',
        `extra=${extra}`,
        '--build-context',
        `deps=${deps}`,
        '-t',
        'named',
        ctx,
      ],
      { root },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /FROM localhost:5000\/busybox:1\.35@sha256:/);
    const run = await polyarch(['run', '--rm', 'named'], { root });
    assert.equal(run.stdout, 'from extra\nfrom deps\n', run.stderr);
  });
});

describe('--pull and the local store', () => {
  test('a base image named in the local store is used as is; --pull asks the registry', async () => {
    const ref = `localhost:5000/pulltest-${process.pid}:1`;
    const local = tempDir();
    const other = tempDir();
    const make = (which: string) => context(`FROM localhost:5000/busybox:1.35\nRUN echo ${which} > /which\n`);
    assert.equal((await polyarch(['build', '-t', ref, make('local')], { root: local })).code, 0);
    const pushed = await polyarch(['build', '--push', '-t', ref, make('registry')], { root: other });
    assert.equal(pushed.code, 0, pushed.stderr);
    const user = context(`FROM ${ref}\nCMD ["cat", "/which"]\n`);
    assert.equal((await polyarch(['build', '-t', 'from-store', user], { root: local })).code, 0);
    assert.equal((await polyarch(['run', '--rm', 'from-store'], { root: local })).stdout, 'local\n');
    const r = await polyarch(['build', '--pull', '-t', 'from-registry', user], { root: local });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await polyarch(['run', '--rm', 'from-registry'], { root: local })).stdout, 'registry\n');
  });
});

describe('a cached result whose layer is gone', () => {
  test('the step runs again instead of failing', async () => {
    const root = tempDir();
    const ctx = context('FROM localhost:5000/busybox:1.35\nRUN echo once > /f\n');
    assert.equal((await polyarch(['build', '-t', 'gone', ctx], { root })).code, 0);
    const { readdirSync, rmSync, readFileSync } = await import('node:fs');
    // remove the snapshot the RUN made (the only committed one), as a careless hand would
    for (const id of readdirSync(join(root, 'snapshots'))) {
      const meta = join(root, 'snapshots', id, 'meta.json');
      try {
        if ((JSON.parse(readFileSync(meta, 'utf8')) as { kind: string }).kind === 'committed') {
          rmSync(join(root, 'snapshots', id), { recursive: true });
        }
      } catch {
        // not a snapshot directory
      }
    }
    const r = await polyarch(['build', '--progress', 'rawjson', '-t', 'gone', ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      steps(r.stderr, /RUN echo once/).map((s) => s.cached),
      [false],
    );
    assert.equal((await polyarch(['run', '--rm', 'gone', 'cat', '/f'], { root })).stdout, 'once\n');
  });
});

describe('the build context argument', () => {
  test('- takes the Dockerfile from stdin with no context; a tar on stdin and a remote context are refused clearly', async () => {
    const root = tempDir();
    const r = await polyarch(['build', '--progress', 'plain', '-t', 'from-stdin', '-'], {
      root,
      input: 'FROM localhost:5000/busybox:1.35\nRUN echo hi from stdin\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /hi from stdin/);
    const { execFileSync } = await import('node:child_process');
    const tar = execFileSync('tar', ['-cf', '-', '-C', context('FROM scratch\n'), 'Dockerfile']);
    const t = await polyarch(['build', '-'], { root, input: tar });
    assert.equal(t.code, 1);
    assert.match(t.stderr, /^ERROR: a build context as a tar archive on stdin is not supported yet/m);
    const u = await polyarch(['build', 'https://github.com/example/repo.git'], { root });
    assert.equal(u.code, 1);
    assert.equal(
      u.stderr,
      'ERROR: a remote build context (https://github.com/example/repo.git) is not supported yet\n',
    );
  });
});

describe('ADD of an archive', () => {
  test('--chown applies to what the archive holds, as in BuildKit', async () => {
    const ctx = context('FROM localhost:5000/busybox:1.35\nADD --chown=1000:2000 pkg.tar.gz /x/\n');
    const src = tempDir();
    const { mkdirSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    mkdirSync(join(src, 'pkg'));
    writeFileSync(join(src, 'pkg', 'f'), 'f\n');
    execFileSync('tar', ['-czf', join(ctx, 'pkg.tar.gz'), '--owner=0', '--group=0', '-C', src, 'pkg']);
    const root = tempDir();
    const r = await polyarch(['build', '-t', 'chowned', ctx], { root });
    assert.equal(r.code, 0, r.stderr);
    const ls = await polyarch(['run', '--rm', 'chowned', 'stat', '-c', '%u:%g %n', '/x/pkg', '/x/pkg/f'], {
      root,
    });
    assert.equal(ls.stdout, '1000:2000 /x/pkg\n1000:2000 /x/pkg/f\n', ls.stderr);
  });
});
