// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Dockerfile text with ${VAR} expansions
/**
 * Stage planning: automatic platform ARGs, the global ARG scope, FROM expansion, stage
 * references, the target and the stages it needs; ARG/ENV scoping inside stages; and the
 * `--call targets` / `--call outline` results.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  automaticArgs,
  buildOutline,
  type Dockerfile,
  dispatchScope,
  formatOutline,
  formatTargets,
  imageScope,
  listTargets,
  type PlanOptions,
  planBuild,
  readDockerfile,
  stepName,
  unusedBuildArgs,
} from '../../src/dockerfile/index.js';
import { DockerfileError } from '../../src/errors.js';
import { parsePlatform } from '../../src/platforms/index.js';

const amd64 = parsePlatform('linux/amd64');
const read = (text: string): Dockerfile => readDockerfile(text, { file: 'Dockerfile' });
const plan = (text: string, o: Partial<PlanOptions> = {}) =>
  planBuild(read(text), { targetPlatform: amd64, buildPlatform: amd64, ...o });

describe('automatic platform ARGs', () => {
  const cases: [string, Record<string, string>][] = [
    [
      'linux/amd64',
      { TARGETPLATFORM: 'linux/amd64', TARGETOS: 'linux', TARGETARCH: 'amd64', TARGETVARIANT: '' },
    ],
    ['linux/arm64', { TARGETPLATFORM: 'linux/arm64', TARGETARCH: 'arm64', TARGETVARIANT: '' }],
    ['linux/arm/v7', { TARGETPLATFORM: 'linux/arm/v7', TARGETARCH: 'arm', TARGETVARIANT: 'v7' }],
    ['linux/arm', { TARGETPLATFORM: 'linux/arm/v7', TARGETARCH: 'arm', TARGETVARIANT: 'v7' }],
    ['linux/arm/v5', { TARGETPLATFORM: 'linux/arm/v5', TARGETVARIANT: 'v5' }],
    ['linux/386', { TARGETPLATFORM: 'linux/386', TARGETARCH: '386', TARGETVARIANT: '' }],
  ];
  for (const [spec, want] of cases) {
    test(spec, () => {
      const args = automaticArgs(parsePlatform(spec), amd64, 'app');
      for (const [k, v] of Object.entries(want)) assert.equal(args.get(k), v, k);
      assert.equal(args.get('BUILDPLATFORM'), 'linux/amd64');
      assert.equal(args.get('BUILDARCH'), 'amd64');
      assert.equal(args.get('TARGETSTAGE'), 'app');
    });
  }
  test('build-args override them', () => {
    assert.equal(automaticArgs(amd64, amd64, '', new Map([['TARGETARCH', 'x']])).get('TARGETARCH'), 'x');
  });
});

const multi = `ARG GO_VERSION=1.23
ARG BASE=busybox:1.35
FROM --platform=$BUILDPLATFORM golang:\${GO_VERSION} AS build
ARG TARGETARCH
RUN echo $TARGETARCH

FROM build AS test
RUN go test

FROM \${BASE} AS unused

FROM scratch AS out
COPY --from=build /out /x
COPY --from=localhost:5000/tools:1 /bin/t /t
RUN --mount=from=test,target=/t true
`;

describe('planBuild', () => {
  test('expands FROM with global ARGs and resolves references', () => {
    const p = plan(multi, { targetPlatform: parsePlatform('linux/arm/v7') });
    const [build, test_, unused, out] = p.stages;
    assert.equal(build!.baseName, 'golang:1.23');
    assert.deepEqual(build!.base, { kind: 'image', ref: 'golang:1.23' });
    assert.deepEqual(build!.platform, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual([...build!.usedGlobalArgs].sort(), ['BUILDPLATFORM', 'GO_VERSION']);
    assert.deepEqual(test_!.base, { kind: 'stage', index: 0 });
    assert.equal(unused!.baseName, 'busybox:1.35');
    assert.deepEqual(out!.base, { kind: 'scratch' });
    assert.deepEqual(out!.sources.get(0), [{ kind: 'stage', index: 0 }]);
    assert.deepEqual(out!.sources.get(1), [{ kind: 'image', ref: 'localhost:5000/tools:1' }]);
    assert.deepEqual(out!.sources.get(2), [{ kind: 'stage', index: 1 }]);
    assert.deepEqual(out!.deps, [0, 1]);
    assert.equal(p.target.index, 3);
    assert.deepEqual(
      p.needed.map((s) => s.displayName),
      ['build', 'test', 'out'],
    );
    assert.equal(p.globalArgs.get('TARGETPLATFORM'), 'linux/arm/v7');
  });

  test('build-args override global ARG defaults', () => {
    const p = plan(multi, { buildArgs: { GO_VERSION: '1.22', BASE: 'alpine' }, target: 'unused' });
    assert.equal(p.stages[0]!.baseName, 'golang:1.22');
    assert.equal(p.target.baseName, 'alpine');
    assert.deepEqual(
      p.needed.map((s) => s.index),
      [2],
    );
  });

  test('global ARGs see the ones before them, and platform ARGs', () => {
    const p = plan('ARG A=x\nARG B=${A}-$TARGETARCH\nFROM busybox:$B');
    assert.equal(p.stages[0]!.baseName, 'busybox:x-amd64');
    assert.deepEqual([...p.metaArgs.get('B')!.deps].sort(), ['A', 'TARGETARCH']);
  });

  test('target selection', () => {
    assert.equal(plan(multi, { target: 'TEST' }).target.stage.name, 'test');
    assert.throws(
      () => plan(multi, { target: 'tset' }),
      /target stage "tset" could not be found \(did you mean test\?\)/,
    );
    assert.throws(
      () => plan(multi, { target: 'production' }),
      /target stage "production" could not be found \(stages: build, test, unused, out\)/,
    );
  });

  test('single stage has no display name; unnamed stages are stage-N', () => {
    assert.equal(plan('FROM busybox').stages[0]!.displayName, '');
    assert.equal(plan('FROM busybox\nFROM busybox').stages[1]!.displayName, 'stage-1');
  });

  test('COPY --from by index', () => {
    const p = plan('FROM busybox\nFROM scratch\nCOPY --from=0 /a /b');
    assert.deepEqual(p.stages[1]!.sources.get(0), [{ kind: 'stage', index: 0 }]);
  });

  const errors: [string, string, Partial<PlanOptions>, number, RegExp][] = [
    [
      'later stage',
      'FROM scratch AS a\nCOPY --from=b /x /y\nFROM scratch AS b',
      { target: 'a' },
      2,
      /cannot copy from stage "b", it needs to be defined before current stage "a"/,
    ],
    ['bad index', 'FROM scratch\nCOPY --from=3 /x /y', {}, 2, /invalid stage index 3/],
    [
      'cycle',
      'FROM scratch AS a\nCOPY --from=b /x /y\nFROM scratch AS b\nCOPY --from=a /x /y',
      {},
      1,
      /circular dependency detected on stage: a/,
    ],
    [
      'bad platform',
      'FROM --platform=linux/bogus/x/y busybox',
      {},
      1,
      /failed to parse platform linux\/bogus\/x\/y/,
    ],
    [
      'empty platform',
      'ARG P\nFROM --platform=$P busybox',
      {},
      2,
      /empty platform value from expression \$P/,
    ],
    ['bad reference', 'FROM Busy_Box:latest', {}, 1, /failed to parse stage name "Busy_Box:latest"/],
    ['blank base', 'ARG IMG\nFROM $IMG', {}, 2, /base name \(\$IMG\) should not be blank/],
    [
      'bad quote',
      'FROM "busybox',
      {},
      1,
      /unexpected end of statement while looking for matching double-quote/,
    ],
    ['no stages', 'ARG X=1', {}, 1, /dockerfile contains no stages to build/],
  ];
  for (const [name, text, o, line, re] of errors) {
    test(`error: ${name}`, () => {
      assert.throws(
        () => plan(text, o),
        (e: unknown) => e instanceof DockerfileError && e.location.line === line && re.test(e.detail),
      );
    });
  }

  test('unused build-args', () => {
    const p = plan('ARG A\nFROM busybox\nARG B', { buildArgs: { A: '1', B: '2', C: '3', HTTP_PROXY: 'x' } });
    assert.deepEqual(unusedBuildArgs(p), ['C']);
  });
});

describe('ARG and ENV scoping inside stages', () => {
  const text = `ARG V=global
ARG ONLY_GLOBAL=g
FROM busybox AS base
RUN echo $V
ARG V
ARG L=local-$V
ENV E=$L
COPY $E /dst/$ONLY_GLOBAL
FROM base AS child
WORKDIR /w/$L
ARG TARGETVARIANT
`;
  test('global ARGs are visible only when redeclared, build-args win', () => {
    const p = plan(text, { buildArgs: { L: 'from-cli' }, targetPlatform: parsePlatform('linux/arm/v6') });
    const base = dispatchScope(p, p.stages[0]!, imageScope(['PATH=/bin', 'HOME=/root']));
    const [run, argV, argL, env, copy] = base.steps;
    assert.equal(run!.scope.vars.has('V'), false);
    assert.equal(argV!.scope.vars.get('HOME'), '/root');
    assert.deepEqual(argV!.command.kind === 'ARG' && argV!.command.args[0]!.value, 'global');
    assert.deepEqual(argL!.command.kind === 'ARG' && argL!.command.args[0]!.value, 'from-cli');
    assert.deepEqual(env!.command.kind === 'ENV' && env!.command.env, [
      { key: 'E', value: 'from-cli', noDelim: false },
    ]);
    assert.ok(copy!.command.kind === 'COPY');
    if (copy!.command.kind === 'COPY') {
      assert.deepEqual(copy!.command.sources, ['from-cli']);
      assert.equal(copy!.command.dest, '/dst/'); // ONLY_GLOBAL was never redeclared
      assert.deepEqual([...copy!.unmatched], ['ONLY_GLOBAL']);
    }
    assert.deepEqual(base.end.args, [
      { key: 'V', value: 'global' },
      { key: 'L', value: 'from-cli' },
    ]);
    const child = dispatchScope(p, p.stages[1]!, base.end);
    const [wd, tv] = child.steps;
    assert.equal(wd!.command.kind === 'WORKDIR' && wd!.command.path, '/w/from-cli');
    assert.equal(tv!.command.kind === 'ARG' && tv!.command.args[0]!.value, 'v6');
    assert.equal(child.end.vars.get('TARGETVARIANT'), 'v6');
  });

  test('an ARG without default and no global stays unset', () => {
    const p = plan('FROM busybox\nARG NOPE\nRUN x');
    const r = dispatchScope(p, p.stages[0]!, imageScope());
    assert.equal(r.end.vars.has('NOPE'), false);
    assert.deepEqual(r.end.args, [{ key: 'NOPE', value: undefined }]);
    assert.equal(r.end.vars.get('PATH'), '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  test('expansion errors carry the instruction location', () => {
    const p = plan('FROM busybox\nENV A="unterminated\n');
    assert.throws(
      () => dispatchScope(p, p.stages[0]!, imageScope()),
      (e: unknown) =>
        e instanceof DockerfileError && e.location.line === 2 && /matching double-quote/.test(e.message),
    );
  });

  test('step names as BuildKit prints them', () => {
    const p = plan('FROM busybox');
    assert.equal(
      stepName(p, 'run go build -o $OUT "$X" .', new Map([['OUT', 'hello']])),
      'RUN go build -o hello "$X" .',
    );
  });
});

describe('--call targets and outline', () => {
  const text = `# GO_VERSION sets the Go version
ARG GO_VERSION=1.23
ARG UNUSED=x

# build compiles the binary
FROM golang:\${GO_VERSION} AS build
# VERSION is stamped into the binary
ARG VERSION=dev
RUN --mount=type=secret,id=token,required --mount=type=ssh go build

# image is the production image
FROM busybox AS image
COPY --from=build /out /out
`;
  test('targets', () => {
    const df = read(text);
    assert.equal(
      formatTargets(listTargets(df)),
      'TARGET          DESCRIPTION\nbuild           compiles the binary\nimage (default) is the production image\n',
    );
  });
  test('outline of the default target', () => {
    const o = buildOutline(plan(text));
    assert.deepEqual(
      o.args.map((a) => [a.name, a.value, a.description]),
      [
        ['GO_VERSION', '1.23', 'sets the Go version'],
        ['VERSION', 'dev', 'is stamped into the binary'],
      ],
    );
    assert.equal(
      formatOutline(o),
      [
        'TARGET:      image',
        'DESCRIPTION: is the production image',
        '',
        'BUILD ARG    VALUE   DESCRIPTION',
        'GO_VERSION   1.23    sets the Go version',
        'VERSION      dev     is stamped into the binary',
        '',
        'SECRET   REQUIRED',
        'token    true',
        '',
        'SSH       REQUIRED',
        'default   ',
        '',
        '',
      ].join('\n'),
    );
  });
  test('outline honours build-args and target', () => {
    const o = buildOutline(
      plan(text, { buildArgs: { VERSION: '2.0', GO_VERSION: '1.22' }, target: 'build' }),
    );
    assert.equal(o.name, 'build');
    assert.deepEqual(
      o.args.map((a) => [a.name, a.value]),
      [
        ['GO_VERSION', '1.22'],
        ['VERSION', '2.0'],
      ],
    );
  });
});

test('examples/hello plans per platform: the base copies the rootfs of TARGETARCH+TARGETVARIANT', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { repoRoot } = await import('../helpers/fixtures.js');
  const df = read(readFileSync(join(repoRoot, 'examples', 'hello', 'Dockerfile'), 'utf8'));
  for (const [target, dir] of [
    ['linux/arm/v7', 'rootfs/armv7/'],
    ['linux/arm64', 'rootfs/arm64/'],
    ['linux/amd64', 'rootfs/amd64/'],
  ] as const) {
    const p = planBuild(df, { targetPlatform: parsePlatform(target), buildPlatform: amd64 });
    const [base, hello] = p.needed;
    assert.deepEqual(base!.base, { kind: 'scratch' });
    assert.deepEqual(hello!.base, { kind: 'stage', index: 0 });
    const steps = dispatchScope(p, base!, imageScope()).steps;
    const copy = steps.find((s) => s.command.kind === 'COPY')!.command;
    assert.ok(copy.kind === 'COPY');
    assert.deepEqual(copy.sources, [dir]);
  }
});
