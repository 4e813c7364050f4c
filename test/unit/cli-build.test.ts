/**
 * `polyarch build`: buildx's flags parsed into BuildOptions, `--call targets` and
 * `--call outline` through the real CLI, and one clean error for bad Dockerfiles.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildOptionsFromFlags, parseCall, parseOutputs } from '../../src/cli/build.js';
import { parseCommandLine } from '../../src/cli/command.js';
import { rootCommand } from '../../src/cli/main.js';
import { parsePlatform } from '../../src/platforms/index.js';
import { polyarchBin, repoRoot, tempDir } from '../helpers/fixtures.js';

const host = parsePlatform('linux/amd64');

function options(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const p = parseCommandLine(rootCommand, ['build', ...argv], env, 'polyarch');
  assert.equal(p.command.name, 'build');
  const inv = buildOptionsFromFlags(p.args, p.flags, env, host, p.globals.string('builder'));
  return {
    ...inv.options,
    call: inv.call,
    progress: inv.progress,
    metadataFile: inv.metadataFile,
    iidfile: inv.iidfile,
  };
}

function polyarch(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const r = spawnSync(process.execPath, [polyarchBin, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    input: opts.input ?? '',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('flags → BuildOptions', () => {
  test('defaults', () => {
    const o = options(['.']);
    assert.equal(o.contextPath, '.');
    assert.deepEqual(o.platforms, []);
    assert.equal(o.progress, 'auto');
    assert.equal(o.network, 'default');
    assert.deepEqual(o.call, { name: 'build', format: 'text', ignoreStatus: false });
    assert.deepEqual(o.outputs, []);
    assert.equal(o.push, false);
  });

  test('the common flags', () => {
    const o = options(
      [
        '--platform',
        'linux/amd64,linux/arm64',
        '--platform=linux/arm/v7',
        '-t',
        'localhost:5000/hello:1',
        '--tag=hello:latest',
        '-f',
        'docker/Dockerfile.prod',
        '--build-arg',
        'A=1',
        '--build-arg',
        'FROM_ENV',
        '--build-arg',
        'MISSING',
        '--target',
        'image',
        '--no-cache',
        '--pull',
        '--push',
        '--label',
        'a=b',
        '--label',
        'flag',
        '--metadata-file',
        'meta.json',
        '--iidfile',
        'iid',
        '--progress=plain',
        '--network',
        'host',
        '--secret',
        'id=npm,src=/tmp/npmrc',
        '--secret',
        'id=tok,env=TOKEN',
        '--ssh',
        'default',
        '--ssh',
        'git=/run/a.sock,/run/b.sock',
        '--cache-from',
        'user/app:cache',
        '--cache-to',
        'type=local,dest=/tmp/c,mode=max',
        '--build-context',
        'src=../src',
        '--no-cache-filter',
        'build',
        '--allow',
        'network.host,security.insecure',
        '--add-host',
        'db:10.0.0.2',
        '--shm-size',
        '128m',
        '--ulimit',
        'nofile=1024:2048',
        '--annotation',
        'index,manifest:org.example=1',
        '--provenance=false',
        '--sbom=true',
        '.',
      ],
      { FROM_ENV: 'env-value' },
    );
    assert.deepEqual(
      o.platforms.map((p) => [p.os, p.architecture, p.variant]),
      [
        ['linux', 'amd64', undefined],
        ['linux', 'arm64', undefined],
        ['linux', 'arm', 'v7'],
      ],
    );
    assert.deepEqual(o.tags, ['localhost:5000/hello:1', 'hello:latest']);
    assert.equal(o.file, 'docker/Dockerfile.prod');
    assert.deepEqual(o.buildArgs, { A: '1', FROM_ENV: 'env-value' });
    assert.equal(o.target, 'image');
    assert.ok(o.noCache && o.pull && o.push && !o.load);
    assert.deepEqual(o.labels, { a: 'b', flag: '' });
    assert.equal(o.metadataFile, 'meta.json');
    assert.equal(o.iidfile, 'iid');
    assert.equal(o.progress, 'plain');
    assert.equal(o.network, 'host');
    assert.deepEqual(o.secrets, [
      { id: 'npm', src: '/tmp/npmrc' },
      { id: 'tok', env: 'TOKEN' },
    ]);
    assert.deepEqual(o.ssh, [
      { id: 'default', paths: [] },
      { id: 'git', paths: ['/run/a.sock', '/run/b.sock'] },
    ]);
    assert.deepEqual(o.cacheFrom, [{ type: 'registry', attrs: { ref: 'user/app:cache' } }]);
    assert.deepEqual(o.cacheTo, [{ type: 'local', attrs: { dest: '/tmp/c', mode: 'max' } }]);
    assert.deepEqual(o.buildContexts, { src: '../src' });
    assert.deepEqual(o.noCacheFilter, ['build']);
    assert.deepEqual(o.allow, ['network.host', 'security.insecure']);
    assert.deepEqual(o.addHosts, [{ host: 'db', ip: '10.0.0.2' }]);
    assert.equal(o.shmSize, 128 * 1024 * 1024);
    assert.deepEqual(o.ulimits, [{ name: 'nofile', soft: 1024, hard: 2048 }]);
    assert.deepEqual(o.annotations, [{ types: ['index', 'manifest'], key: 'org.example', value: '1' }]);
    assert.deepEqual(o.attests, [
      { type: 'provenance', disabled: true, attrs: {} },
      { type: 'sbom', disabled: false, attrs: {} },
    ]);
  });

  test('outputs as buildx parses them', () => {
    assert.deepEqual(
      parseOutputs(['out', '-', 'type=registry', 'type=oci,dest=a.tar,name=x', 'type=image,push=false']),
      [
        { type: 'local', destination: 'out', attrs: {} },
        { type: 'tar', destination: '-', attrs: {} },
        { type: 'image', attrs: { push: 'true' } },
        { type: 'oci', destination: 'a.tar', attrs: { name: 'x' } },
        { type: 'image', attrs: { push: 'false' } },
      ],
    );
    assert.throws(() => parseOutputs(['dest=x']), /type is required for output/);
  });

  test('--call and --check', () => {
    assert.deepEqual(parseCall('outline,format=json'), {
      name: 'outline',
      format: 'json',
      ignoreStatus: false,
    });
    assert.equal(options(['--check', '.']).call.name, 'check');
    assert.equal(options(['--call=targets', '.']).call.name, 'targets');
    assert.throws(() => parseCall('explode'), /invalid call "explode"/);
  });

  test('DOCKER_DEFAULT_PLATFORM and quiet', () => {
    const o = options(['-q', '.'], { DOCKER_DEFAULT_PLATFORM: 'linux/arm64' });
    assert.equal(o.platforms[0]!.architecture, 'arm64');
    assert.equal(o.progress, 'quiet');
    assert.throws(
      () => options(['-q', '--progress=plain', '.']),
      /progress=plain and quiet cannot be used together/,
    );
  });

  test('invalid values', () => {
    assert.throws(() => options(['--platform', 'linux/amd64/v2/x', '.']), /invalid platform/);
    assert.throws(() => options(['--network', 'bridge', '.']), /invalid network mode "bridge"/);
    assert.throws(() => options(['--secret', 'id=a,foo=b', '.']), /unexpected key 'foo' in 'foo=b'/);
    assert.throws(() => options(['--build-arg', '=x', '.']), /empty key/);
    assert.throws(() => options(['--iidfile', 'x', '-o', 'out', '.']), /incompatible with image ID file/);
    assert.throws(() => parseCall('check,ignorestatus=yes'), /failed to parse ignorestatus "yes"/);
    assert.throws(
      () => options(['--attest', 'type=sbom,disabled=maybe', '.']),
      /invalid value maybe for disabled/,
    );
    assert.throws(
      () => options(['-o', 'type=local,dest=a"b', '.']),
      /invalid output .*bare " in non-quoted-field/,
    );
    assert.throws(
      () => options(['--allow', 'network.host,"security', '.']),
      /invalid argument "network.host,"security" for "--allow" flag: extraneous or missing " in quoted-field/,
    );
  });

  test('booleans and CSV values as Go reads them', () => {
    assert.deepEqual(parseCall('check,ignorestatus=T').ignoreStatus, true);
    assert.deepEqual(options(['--sbom=TRUE', '--provenance=0', '.']).attests, [
      { type: 'provenance', disabled: true, attrs: {} },
      { type: 'sbom', disabled: false, attrs: {} },
    ]);
    assert.deepEqual(parseOutputs(['type=local,"dest=a,b"']), [
      { type: 'local', destination: 'a,b', attrs: {} },
    ]);
    assert.deepEqual(options(['--allow', '"a,b",c', '.']).allow, ['a,b', 'c']);
  });
});

describe('polyarch build through the CLI', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'ctx'));
  writeFileSync(
    join(dir, 'ctx', 'Dockerfile'),
    '# VERSION the release\nARG VERSION=0.1\n# build builds\nFROM --platform=$BUILDPLATFORM golang:1.23 AS build\nARG TARGETARCH\nARG VERSION\nRUN echo $VERSION $TARGETARCH\n\nFROM busybox:1.35\nCOPY --from=build /out /out\n',
  );

  test('help shows buildx flags', () => {
    const r = polyarch(['build', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: {2}polyarch build \[OPTIONS\] PATH \| URL \| -\n\nStart a build\n/);
    assert.match(
      r.stdout,
      /\n {6}--call string +Set method for evaluating build \("check", "outline", "targets"\) \(default "build"\)\n/,
    );
    assert.match(r.stdout, /\n {2}-t, --tag stringArray +Name and optionally a tag \(format: "name:tag"\)\n/);
    assert.match(r.stdout, /\n {6}--builder string +Override the configured builder instance/);
    assert.doesNotMatch(r.stdout, /--squash/);
  });

  test('--call targets', () => {
    const r = polyarch(['build', '--call', 'targets', 'ctx'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'TARGET    DESCRIPTION\nbuild     builds\n(default) \n');
  });

  test('--call outline with --build-arg and -f', () => {
    const plain = polyarch(['build', '--call=outline', '-f', 'ctx/Dockerfile', '.'], { cwd: dir });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'BUILD ARG   VALUE   DESCRIPTION\nVERSION     0.1     the release\n\n');
    // as in BuildKit, a build-arg makes the stage's own `ARG VERSION` (with no comment) the one shown
    const r = polyarch(['build', '--call=outline', '--build-arg', 'VERSION=9', '-f', 'ctx/Dockerfile', '.'], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'BUILD ARG   VALUE   DESCRIPTION\nVERSION     9       \n\n');
  });

  test('--call outline,format=json', () => {
    const r = polyarch(['build', '--call', 'outline,format=json', '--target', 'build', 'ctx'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.equal(o.name, 'build');
    assert.deepEqual(o.args[0].Name, 'VERSION');
    assert.deepEqual(o.args[0].Location.ranges[0].start.line, 2);
  });

  test('a missing Dockerfile and an unknown target are one-line errors', () => {
    const r = polyarch(['build', '--call', 'targets', 'nowhere'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^ERROR: failed to read dockerfile: open .*nowhere\/Dockerfile: no such file or directory\n$/,
    );
    const t = polyarch(['build', '--call', 'outline', '--target', 'buidl', 'ctx'], { cwd: dir });
    assert.equal(t.code, 1);
    assert.equal(
      t.stderr,
      'ERROR: Dockerfile:9:1: target stage "buidl" could not be found (did you mean build?)\n',
    );
  });

  const bad: [string, string, string][] = [
    [
      'unknown instruction',
      'FROM busybox\nFORM x\n',
      'Dockerfile:2:1: unknown instruction: FORM (did you mean FROM?)',
    ],
    [
      'bad flag',
      'FROM busybox\nCOPY --chwon=1 a b\n',
      'Dockerfile:2:6: unknown flag: --chwon (did you mean chown?)',
    ],
    ['unterminated heredoc', 'FROM busybox\nRUN <<EOF\necho\n', 'Dockerfile:2:5: unterminated heredoc'],
    [
      'unterminated quote',
      'ARG V="1.0\nFROM busybox\n',
      'Dockerfile:1:1: failed to process "\\"1.0": unexpected end of statement while looking for matching double-quote',
    ],
    [
      'invalid JSON in SHELL',
      'FROM busybox\nSHELL ["/bin/sh", "-c"\n',
      'Dockerfile:2:1: SHELL requires the arguments to be in JSON form',
    ],
    [
      'invalid platform',
      'FROM --platform=linux/amd64/v2/x busybox\n',
      'Dockerfile:1:1: failed to parse platform linux/amd64/v2/x: invalid platform "linux/amd64/v2/x": expected os[/arch[/variant]]',
    ],
    [
      'invalid reference',
      'FROM Busybox\n',
      'Dockerfile:1:1: failed to parse stage name "Busybox": invalid reference "Busybox": repository name (library/Busybox) must be lowercase',
    ],
  ];
  for (const [name, text, message] of bad) {
    test(`bad input: ${name}`, () => {
      const d = tempDir();
      writeFileSync(join(d, 'Dockerfile'), text);
      const r = polyarch(['build', '--call', 'outline', d]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `ERROR: ${message}\n`);
    });
  }
});

test('--call outline and targets on examples/hello', () => {
  const r = polyarch(['build', '--call', 'outline', 'examples/hello']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    ['TARGET:      hello', 'DESCRIPTION: is the image: it greets from the CPU it runs on', '', ''].join('\n'),
  );
  const t = polyarch(['build', '--call', 'targets', 'examples/hello']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^TARGET\s+DESCRIPTION\nbase\s+is a small Linux system/);
  assert.match(t.stdout, /\nhello \(default\)\s+is the image: it greets from the CPU it runs on\n$/);
});

test('--check exits 1 on warnings, 0 when clean or with ignorestatus', () => {
  const d = tempDir();
  writeFileSync(join(d, 'Dockerfile'), 'FROM busybox as base\n');
  const r = polyarch(['build', '--check', d]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^Check complete, 1 warning has been found!\n\nWARNING: FromAsCasing/);
  assert.equal(polyarch(['build', '--call', 'check,ignorestatus=true', d]).code, 0);
  const json = polyarch(['build', '--call', 'check,format=json', d]);
  assert.equal(json.code, 1);
  const [w, ...rest] = JSON.parse(json.stdout).warnings;
  assert.equal(rest.length, 0);
  assert.equal(w.ruleName, 'FromAsCasing');
  assert.equal(w.detail, "'as' and 'FROM' keywords' casing do not match");
  assert.deepEqual(w.location.ranges, [{ start: { line: 1 }, end: { line: 1 } }]);
  const clean = polyarch(['build', '--check', 'examples/hello']);
  assert.equal(clean.code, 0);
  assert.equal(clean.stdout, 'Check complete, no warnings found.\n');
});

test('a context that does not exist or is not a directory: one error, as buildx words it', () => {
  const missing = polyarch(['build', '/nonexistent-polyarch-context']);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    'ERROR: unable to prepare context: path "/nonexistent-polyarch-context" not found\n',
  );
  const file = polyarch(['build', '/etc/hostname']);
  assert.equal(file.code, 1);
  assert.equal(file.stderr, 'ERROR: unable to prepare context: path "/etc/hostname" is not a directory\n');
});
