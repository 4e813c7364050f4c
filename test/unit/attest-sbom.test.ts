/**
 * The pure parts of the SBOM scan: which extra targets a Dockerfile asks for
 * (BUILDKIT_SBOM_SCAN_CONTEXT / _STAGE, graph/dispatch/sbom), the scan op built from a scanner
 * image (attest/sbom), its cache key, and the reading of what a scanner wrote (attest/sbombundle).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generatorName, sbomScanner, scanFailure, scanVertex } from '../../src/attest/sbom.js';
import { parseStatement, readBundle } from '../../src/attest/sbombundle.js';
import { readDockerfile } from '../../src/dockerfile/index.js';
import { BuildError, NotFoundError } from '../../src/errors.js';
import { cacheKey } from '../../src/graph/cachekey.js';
import { convertDockerfile, type ResolvedImage } from '../../src/graph/convert.js';
import { enabledForStage } from '../../src/graph/dispatch/sbom.js';
import type { ExecOp, Vertex } from '../../src/graph/ops.js';
import type { Digest } from '../../src/oci/digest.js';
import type { ContainerConfig, Platform } from '../../src/oci/types.js';
import { parsePlatform } from '../../src/platforms/index.js';

const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');
const digest = `sha256:${'a'.repeat(64)}` as Digest;

function resolved(config: ContainerConfig, layers = 1): ResolvedImage {
  return {
    pinned: `localhost:5000/scanner:1@${digest}`,
    manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 },
    config: {
      architecture: 'amd64',
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: Array.from({ length: layers }, () => digest) },
    },
    origin: 'registry',
  };
}

const contextVertex: Vertex = {
  op: { type: 'context', name: 'context', dir: '/ctx' },
  inputs: [],
  name: 'ctx',
};

async function convert(dockerfile: string, buildArgs: Record<string, string> = {}) {
  return convertDockerfile({
    dockerfile: readDockerfile(dockerfile),
    targetPlatform: arm64,
    buildPlatform: amd64,
    buildArgs: new Map(Object.entries(buildArgs)),
    multiPlatform: false,
    context: contextVertex,
    resolveImage: async (_ref: string, _p: Platform) => resolved({ Env: ['PATH=/bin'] }),
    network: 'default',
    extraHosts: [],
    labels: {},
  });
}

describe('BUILDKIT_SBOM_SCAN_CONTEXT / _STAGE (graph/dispatch/sbom)', () => {
  test("a value is Go's ParseBool, else a comma list of stage names", () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(enabledForStage('x', v), true, v);
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False'])
      assert.equal(enabledForStage('x', v), false, v);
    assert.equal(enabledForStage('b', 'a,b'), true);
    assert.equal(enabledForStage('c', 'a,b'), false);
    assert.equal(enabledForStage('yes', 'yes'), true, 'not a bool: a stage name');
  });

  const multi = `ARG BUILDKIT_SBOM_SCAN_CONTEXT=true
FROM busybox AS a
ARG BUILDKIT_SBOM_SCAN_STAGE=true
RUN echo a
FROM busybox AS b
RUN echo b
FROM busybox AS skipped
ARG BUILDKIT_SBOM_SCAN_STAGE=true
FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
`;

  test('declared ARGs: the context for the target, each needed stage that turns it on', async () => {
    const r = await convert(multi);
    assert.deepEqual([...r.sbom.stages.keys()], ['a']);
    assert.ok(r.sbom.context);
    assert.equal(r.sbom.context.hidden, true);
    const op = r.sbom.context.op;
    assert.equal(op.type, 'file');
    assert.deepEqual(
      op.type === 'file' ? op.platform : undefined,
      amd64,
      'the context copy runs once, on the build platform',
    );
    assert.equal(r.sbom.context.inputs[1], contextVertex);
  });

  test('a global stage list picks stages by name; --build-arg overrides a declared value', async () => {
    const df = `ARG BUILDKIT_SBOM_SCAN_STAGE=b
FROM busybox AS a
RUN echo a
FROM busybox AS b
RUN echo b
FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
`;
    assert.deepEqual([...(await convert(df)).sbom.stages.keys()], ['b']);
    assert.deepEqual(
      [...(await convert(df, { BUILDKIT_SBOM_SCAN_STAGE: 'a,b' })).sbom.stages.keys()],
      ['a', 'b'],
    );
    assert.deepEqual([...(await convert(df, { BUILDKIT_SBOM_SCAN_STAGE: 'false' })).sbom.stages.keys()], []);
  });

  test('a --build-arg alone, never declared, turns nothing on (as in BuildKit)', async () => {
    const df = 'FROM busybox AS a\nRUN echo a\nFROM busybox\nCOPY --from=a /a /a\n';
    const r = await convert(df, { BUILDKIT_SBOM_SCAN_STAGE: 'true', BUILDKIT_SBOM_SCAN_CONTEXT: 'true' });
    assert.equal(r.sbom.context, undefined);
    assert.equal(r.sbom.stages.size, 0);
  });

  test('an ARG of a base stage carries to the stage built FROM it; unnamed stages are stage-N', async () => {
    const df = `FROM busybox AS base
ARG BUILDKIT_SBOM_SCAN_CONTEXT=true
RUN echo base
FROM busybox
RUN echo unnamed
FROM base
COPY --from=1 /x /x
`;
    const r = await convert(df);
    assert.ok(r.sbom.context, 'the target inherits the ARG of its base stage');
    assert.equal(r.sbom.stages.size, 0);
    const withStages = await convert(`ARG BUILDKIT_SBOM_SCAN_STAGE=true\n${df}`);
    assert.deepEqual([...withStages.sbom.stages.keys()].sort(), ['base', 'stage-1']);
  });
});

describe('the scan op (attest/sbom)', () => {
  const request = { generator: 'localhost:5000/scanner', params: {} };
  const core: Vertex = { op: { type: 'scratch' }, inputs: [], name: 'core' };
  const stage: Vertex = { op: { type: 'scratch' }, inputs: [], name: 'stage' };

  test('the generator is named as BuildKit normalises it', () => {
    assert.equal(
      generatorName('docker/buildkit-syft-scanner:stable-1'),
      'docker.io/docker/buildkit-syft-scanner:stable-1',
    );
    assert.equal(generatorName('localhost:5000/scanner'), 'localhost:5000/scanner:latest');
  });

  test('a scanner image with neither entrypoint nor cmd is refused', () => {
    assert.throws(
      () => sbomScanner(request, resolved({}), amd64),
      /scanner localhost:5000\/scanner:latest does not have cmd/,
    );
  });

  test('entrypoint then cmd, image env then the protocol env, workdir, mounts, output, name', () => {
    const s = sbomScanner(
      { ...request, params: { MODE: 'x', A: '1' } },
      resolved({
        Entrypoint: ['/bin/scan'],
        Cmd: ['--fast'],
        Env: ['PATH=/bin', 'BUILDKIT_SCAN_DESTINATION=/wrong'],
        WorkingDir: '/w',
      }),
      amd64,
    );
    const v = scanVertex(s, parsePlatform('linux/arm/v7'), core, {
      stages: new Map([['zed', stage]]),
      context: stage,
    });
    assert.equal(v.name, '[linux/arm/v7] generating sbom using localhost:5000/scanner:latest');
    const op = v.op as ExecOp;
    assert.equal(op.type, 'exec');
    assert.deepEqual(op.args, ['/bin/scan', '--fast']);
    assert.deepEqual(op.env, [
      'PATH=/bin',
      'BUILDKIT_SCAN_DESTINATION=/run/out/',
      'BUILDKIT_SCAN_SOURCE=/run/src/core/sbom',
      'BUILDKIT_SCAN_SOURCE_EXTRAS=/run/src/extras',
      'BUILDKIT_SCAN_A=1',
      'BUILDKIT_SCAN_MODE=x',
    ]);
    assert.equal(op.cwd, '/w');
    assert.equal(op.user, '');
    assert.deepEqual(op.platform, amd64, 'the scanner runs for the build platform');
    assert.equal(op.output, '/run/out');
    assert.deepEqual(op.mounts, [
      { type: 'tmpfs', target: '/tmp' },
      { type: 'bind', target: '/run/src/core/sbom', input: 1, source: '/', readonly: true },
      { type: 'bind', target: '/run/src/extras/sbom-context', input: 2, source: '/', readonly: true },
      { type: 'bind', target: '/run/src/extras/sbom-zed', input: 3, source: '/', readonly: true },
    ]);
    assert.equal(v.inputs[0]!.op.type, 'image');
    assert.equal(v.inputs[0]!.name, 'docker-image://localhost:5000/scanner:latest');
    assert.deepEqual(v.inputs.slice(1), [core, stage, stage]);
  });

  test('without extras: no BUILDKIT_SCAN_SOURCE_EXTRAS, cwd / when the image sets none', () => {
    const s = sbomScanner(request, resolved({ Cmd: ['scan'] }), amd64);
    const op = scanVertex(s, arm64, core, { stages: new Map() }).op as ExecOp;
    assert.ok(!op.env.some((e) => e.startsWith('BUILDKIT_SCAN_SOURCE_EXTRAS=')));
    assert.equal(op.cwd, '/');
    assert.equal(op.mounts.length, 2);
  });

  test('the output mount is part of the cache key; an exec op without one keeps its key', () => {
    const s = sbomScanner(request, resolved({ Cmd: ['scan'] }), amd64);
    const op = scanVertex(s, arm64, core, { stages: new Map() }).op as ExecOp;
    const { output: _, ...plain } = op;
    assert.notEqual(cacheKey(op, []), cacheKey(plain, []));
    assert.equal(cacheKey(plain, []), cacheKey({ ...plain, output: undefined }, []));
  });

  test('a failure names the generator and the platform, and keeps not-found', () => {
    const e = scanFailure('localhost:5000/scanner', arm64, new Error('exit code: 1'));
    assert.ok(e instanceof BuildError);
    assert.equal(
      e.message,
      'generating sbom using localhost:5000/scanner:latest for linux/arm64: exit code: 1',
    );
    assert.ok(scanFailure('x', arm64, new NotFoundError('gone')) instanceof NotFoundError);
    assert.match(
      scanFailure('Not A Ref!', arm64, new Error('bad')).message,
      /^generating sbom using Not A Ref! for/,
    );
  });
});

describe('reading what a scanner wrote (attest/sbombundle)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function bundle(files: Record<string, string>): string {
    const d = mkdtempSync(join(tmpdir(), 'sbom-bundle-'));
    dirs.push(d);
    for (const [name, body] of Object.entries(files)) writeFileSync(join(d, name), body);
    return d;
  }
  const stmt = (name: string) =>
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://spdx.dev/Document',
      predicate: { name },
    });

  test('one statement per file, the core scan first, then the others by name', async () => {
    const atts = await readBundle(
      bundle({
        'a-extra.spdx.json': stmt('a'),
        'sbom.spdx.json': stmt('core'),
        'sbom-context.spdx.json': stmt('ctx'),
      }),
    );
    assert.deepEqual(
      atts.map((a) => [a.path, a.predicateType, (a.predicate as { name: string }).name]),
      [
        ['sbom.spdx.json', 'https://spdx.dev/Document', 'core'],
        ['a-extra.spdx.json', 'https://spdx.dev/Document', 'a'],
        ['sbom-context.spdx.json', 'https://spdx.dev/Document', 'ctx'],
      ],
    );
  });

  test('nothing written, a directory or a symlink among them, are errors', async () => {
    await assert.rejects(readBundle(bundle({})), /wrote no in-toto statement to \/run\/out/);
    const withDir = bundle({ 'sbom.spdx.json': stmt('core') });
    mkdirSync(join(withDir, 'sub'));
    await assert.rejects(
      readBundle(withDir),
      /^BuildError: sub is not a regular file$|sub is not a regular file/,
    );
    const withLink = bundle({ 'sbom.spdx.json': stmt('core') });
    symlinkSync('/etc/passwd', join(withLink, 'z.json'));
    await assert.rejects(readBundle(withLink), /z\.json is not a regular file/);
  });

  test('a statement must be one JSON object with a predicate type, not provenance', () => {
    assert.throws(
      () => parseStatement('{"predicateType": ', 'x.json'),
      /^BuildError: x\.json: cannot decode in-toto statement: /,
    );
    assert.throws(
      () => parseStatement('[]', 'x.json'),
      /x\.json: in-toto statement is not a single JSON object/,
    );
    assert.throws(
      () => parseStatement('{"predicate":{}}', 'x.json'),
      /x\.json: in-toto statement has no predicateType/,
    );
    assert.throws(
      () => parseStatement('{"predicateType":"https://slsa.dev/provenance/v1"}', 'x.json'),
      /may not write provenance/,
    );
    assert.deepEqual(parseStatement('{"predicateType":"t","predicate":{"a":1}}', 'x.json'), {
      predicateType: 't',
      predicate: { a: 1 },
      path: 'x.json',
    });
  });
});
