/**
 * The pure parts of attestations: package URLs as packageurl-go writes them, the flags'
 * defaults and errors, the graph capture, the provenance predicate in both modes and both
 * SLSA versions, the attestation manifest read back as buildx's loader reads it, and the
 * `--format` template subset.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { captureGraph } from '../../src/attest/capture.js';
import { statementOf, subjectsFor, writeAttestationManifest } from '../../src/attest/layout.js';
import { makeProvenance } from '../../src/attest/provenance.js';
import { refToPURL } from '../../src/attest/purl.js';
import { readAttestations } from '../../src/attest/read.js';
import { resolveAttests } from '../../src/attest/request.js';
import { LayerFileFinder, supplementSBOM } from '../../src/attest/supplement.js';
import { DefaultSBOMGenerator, PredicateSPDX } from '../../src/attest/types.js';
import { executeTemplate } from '../../src/cli/template.js';
import { openContentStore } from '../../src/content/index.js';
import type { Vertex } from '../../src/graph/ops.js';
import type { Digest } from '../../src/oci/digest.js';
import { MediaTypeImageManifest } from '../../src/oci/mediatypes.js';
import type { Descriptor } from '../../src/oci/types.js';

/** A predicate: free-form JSON, checked field by field. */
// biome-ignore lint/suspicious/noExplicitAny: the tests read it field by field
type Loose = any;

const dgst = (c: string) => `sha256:${c.repeat(64)}` as Digest;

describe('refToPURL', () => {
  test('encodes as packageurl-go: query-escaped names, path-escaped version and qualifiers', () => {
    assert.equal(refToPURL('busybox'), 'pkg:docker/busybox@latest');
    assert.equal(refToPURL('docker.io/user/app:v1'), 'pkg:docker/user/app@v1');
    assert.equal(
      refToPURL('localhost:5000/a/b:1.0', { os: 'linux', architecture: 'arm', variant: 'v7' }),
      'pkg:docker/localhost%3A5000/a/b@1.0?platform=linux%2Farm%2Fv7',
    );
    assert.equal(refToPURL(`alpine@${dgst('a')}`), `pkg:docker/alpine?digest=${dgst('a')}`);
    assert.equal(
      refToPURL(`alpine:3@${dgst('b')}`, { os: 'linux', architecture: 'x86_64' }),
      `pkg:docker/alpine@3?digest=${dgst('b')}&platform=linux%2Famd64`,
    );
  });
});

describe('resolveAttests', () => {
  test('BuildKit defaults: provenance mode=max, SLSA v0.2; the SBOM generator buildx uses', () => {
    const r = resolveAttests([
      { type: 'provenance', disabled: false, attrs: {} },
      { type: 'sbom', disabled: false, attrs: { 'scan-mode': 'all' } },
    ]);
    assert.deepEqual(r.provenance, { mode: 'max', version: 'v0.2' });
    assert.deepEqual(r.sbom, {
      generator: DefaultSBOMGenerator,
      params: { 'scan-mode': 'all' },
    });
  });

  test('disabled entries make nothing; bad values name the attribute', () => {
    assert.deepEqual(resolveAttests([{ type: 'provenance', disabled: true, attrs: {} }]), {});
    assert.throws(
      () => resolveAttests([{ type: 'provenance', disabled: false, attrs: { mode: 'all' } }]),
      /invalid mode "all"/,
    );
    assert.throws(
      () => resolveAttests([{ type: 'provenance', disabled: false, attrs: { version: 'v2' } }]),
      /invalid provenance SLSA version: v2/,
    );
    assert.throws(
      () => resolveAttests([{ type: 'vex', disabled: false, attrs: {} }]),
      /unknown attestation type "vex"/,
    );
  });
});

/** FROM localhost:5000/busybox:1.35 / RUN --mount=type=secret,id=tok --network=none … / COPY . /app */
function graph(): Vertex {
  const platform = { os: 'linux', architecture: 'arm64' };
  const base: Vertex = {
    op: {
      type: 'image',
      ref: `localhost:5000/busybox:1.35@${dgst('1')}`,
      manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: dgst('2'), size: 1 },
      platform,
      origin: 'registry',
    },
    inputs: [],
    name: 'FROM',
    location: { file: 'Dockerfile', startLine: 1, endLine: 1 },
  };
  const run: Vertex = {
    op: {
      type: 'exec',
      args: ['/bin/sh', '-c', 'cat /run/secrets/tok'],
      env: ['PATH=/bin'],
      cwd: '/',
      user: '',
      network: 'none',
      security: 'sandbox',
      mounts: [
        {
          type: 'secret',
          target: '/run/secrets/tok',
          id: 'tok',
          required: false,
          mode: 0o400,
          uid: 0,
          gid: 0,
        },
      ],
      platform,
    },
    inputs: [base],
    name: 'RUN',
    location: { file: 'Dockerfile', startLine: 2, endLine: 3 },
  };
  const context: Vertex = { op: { type: 'context', name: 'context', dir: '/ctx' }, inputs: [], name: 'ctx' };
  const copy: Vertex = {
    op: {
      type: 'file',
      platform,
      actions: [
        {
          action: 'copy',
          input: 1,
          sources: ['.'],
          dest: 'app',
          workdir: '/',
          followSymlinks: true,
          unpack: false,
          allowURL: false,
          link: false,
        },
      ],
    },
    inputs: [run, context],
    name: 'COPY',
    location: { file: 'Dockerfile', startLine: 4, endLine: 4 },
  };
  return copy;
}

describe('captureGraph', () => {
  test('materials unpinned when tagged, locals, secrets by id, steps inputs first', () => {
    const c = captureGraph(graph(), (v) => (v.op.type === 'exec' ? dgst('e') : undefined));
    assert.deepEqual(c.images, [
      {
        ref: 'localhost:5000/busybox:1.35',
        platform: { os: 'linux', architecture: 'arm64' },
        digest: dgst('1'),
      },
    ]);
    assert.deepEqual(c.locals, ['context']);
    assert.deepEqual(c.secrets, [{ id: 'tok', optional: true }]);
    assert.equal(c.networkAccess, false);
    assert.deepEqual(
      c.steps.map((s) => [s.id, s.inputs]),
      [
        ['step0', undefined],
        ['step1', ['step0:0']],
        ['step2', undefined],
        ['step3', ['step1:0', 'step2:0']],
        ['step4', ['step3:0']],
      ],
    );
    assert.deepEqual(c.keys, { step1: dgst('e') });
    assert.deepEqual(c.locations.step1, { file: 'Dockerfile', startLine: 2, endLine: 3 });
    const copy = JSON.stringify(c.steps[3]!.op);
    assert.match(copy, /"secondaryInput":1/);
    assert.match(copy, /"dest":"\/app"/);
    assert.doesNotMatch(JSON.stringify(c.steps), /s3cr3t/);
  });
});

describe('makeProvenance', () => {
  const invocation = {
    args: { 'label:team': 'x', 'build-arg:TOKEN': 'hunter2', target: 'release' },
    filename: 'Dockerfile',
    dockerfile: Buffer.from('FROM x\n'),
    builderPlatform: 'linux/amd64',
    invocationID: 'abc',
    startedOn: new Date('2026-01-01T00:00:00Z'),
    finishedOn: new Date('2026-01-01T00:00:01.5Z'),
    locals: ['dockerfile'],
  };

  test('mode=min: no build args or labels, parameters incomplete, no steps', () => {
    const a = makeProvenance({
      request: { mode: 'min', version: 'v0.2' },
      capture: captureGraph(graph()),
      invocation,
    });
    assert.equal(a.predicateType, 'https://slsa.dev/provenance/v0.2');
    const p = a.predicate as Loose;
    assert.deepEqual(p.invocation.parameters, {
      frontend: 'dockerfile.v0',
      args: { target: 'release' },
      locals: [{ name: 'context' }, { name: 'dockerfile' }],
    });
    assert.equal(p.metadata.completeness.parameters, false);
    assert.equal(a.path, 'provenance.json');
    assert.equal(a.inlineOnly, undefined);
    const inline = makeProvenance({
      request: { mode: 'min', version: 'v0.2', inlineOnly: true, filename: 'prov.json' },
      capture: captureGraph(graph()),
      invocation,
    });
    assert.equal(inline.inlineOnly, true, 'kept out of file outputs');
    assert.equal(inline.path, 'prov.json');
    assert.equal(p.buildConfig, undefined);
    assert.equal(p.metadata.buildStartedOn, '2026-01-01T00:00:00Z');
    assert.equal(p.metadata.buildFinishedOn, '2026-01-01T00:00:01.500Z');
    assert.deepEqual(p.materials, [
      {
        uri: 'pkg:docker/localhost%3A5000/busybox@1.35?platform=linux%2Farm64',
        digest: { sha256: '1'.repeat(64) },
      },
    ]);
  });

  test('mode=max: sorted args, secrets by id, steps and their sources; v1 as ConvertToSLSA1', () => {
    const capture = captureGraph(graph());
    const p = makeProvenance({ request: { mode: 'max', version: 'v0.2' }, capture, invocation })
      .predicate as Loose;
    assert.deepEqual(Object.keys(p.invocation.parameters.args), ['build-arg:TOKEN', 'label:team', 'target']);
    assert.deepEqual(p.invocation.parameters.secrets, [{ id: 'tok', optional: true }]);
    assert.equal(p.buildConfig.llbDefinition.length, 5);
    const meta = p.metadata['https://mobyproject.org/buildkit@v1#metadata'];
    assert.equal(Buffer.from(meta.source.infos[0].data, 'base64').toString(), 'FROM x\n');
    assert.deepEqual(Object.keys(meta.source.locations), ['step0', 'step1', 'step3']);
    const v1 = makeProvenance({ request: { mode: 'max', version: 'v1' }, capture, invocation }) as Loose;
    assert.equal(v1.predicateType, 'https://slsa.dev/provenance/v1');
    assert.deepEqual(v1.predicate.buildDefinition.externalParameters.configSource, { path: 'Dockerfile' });
    assert.equal(v1.predicate.buildDefinition.internalParameters.builderPlatform, 'linux/amd64');
    assert.equal(v1.predicate.runDetails.metadata.invocationID, 'abc');
    assert.deepEqual(v1.predicate.buildDefinition.resolvedDependencies, p.materials);
  });
});

describe('attestation manifests read back', () => {
  test('statements about each platform image, found through vnd.docker.reference.digest', async () => {
    const content = await openContentStore(mkdtempSync(join(tmpdir(), 'polyarch-attest-')));
    const image: Descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: dgst('9'),
      size: 10,
      platform: { os: 'linux', architecture: 'arm64' },
    };
    const subject = subjectsFor(['localhost:5000/app:1'], image.platform!, image);
    assert.deepEqual(subject, [
      {
        name: 'pkg:docker/localhost%3A5000/app@1?platform=linux%2Farm64',
        digest: { sha256: '9'.repeat(64) },
      },
    ]);
    const att = await writeAttestationManifest({
      content,
      target: image,
      oci: true,
      artifact: false,
      statements: [
        statementOf({ predicateType: PredicateSPDX, predicate: { name: 'first' } }, subject),
        statementOf(
          { predicateType: 'https://slsa.dev/provenance/v0.2', predicate: { buildType: 'b' } },
          subject,
        ),
        statementOf({ predicateType: PredicateSPDX, predicate: { name: 'second' } }, subject),
      ],
    });
    const read = (d: Descriptor) => content.readBlob(d.digest);
    const got = await readAttestations(
      [image, { ...att, platform: { os: 'unknown', architecture: 'unknown' } }],
      {
        manifest: read,
        blob: read,
      },
    );
    assert.deepEqual(got, {
      provenance: { 'linux/arm64': { SLSA: { buildType: 'b' } } },
      sbom: { 'linux/arm64': { SPDX: { name: 'first' }, AdditionalSPDXs: [{ name: 'second' }] } },
    });
  });
  test('a malformed attestation manifest or statement is an error naming what was read', async () => {
    const image: Descriptor = {
      mediaType: MediaTypeImageManifest,
      digest: `sha256:${'1'.repeat(64)}` as Digest,
      size: 1,
      platform: { os: 'linux', architecture: 'arm64' },
    };
    const att: Descriptor = {
      mediaType: MediaTypeImageManifest,
      digest: `sha256:${'2'.repeat(64)}` as Digest,
      size: 1,
      annotations: {
        'vnd.docker.reference.digest': image.digest,
        'vnd.docker.reference.type': 'attestation-manifest',
      },
      platform: { os: 'unknown', architecture: 'unknown' },
    };
    const layer = { mediaType: 'application/vnd.in-toto+json', digest: `sha256:${'3'.repeat(64)}`, size: 1 };
    const manifest = {
      schemaVersion: 2,
      config: layer,
      layers: [{ ...layer, annotations: { 'in-toto.io/predicate-type': PredicateSPDX } }],
    };
    await assert.rejects(
      readAttestations([image, att], {
        manifest: async () => Buffer.from('{not json'),
        blob: async () => Buffer.from(''),
      }),
      new RegExp(`reading the attestation manifest ${att.digest}: the manifest is not valid JSON`),
    );
    await assert.rejects(
      readAttestations([image, att], {
        manifest: async () => Buffer.from(JSON.stringify(manifest)),
        blob: async () => Buffer.from('{"predicate":'),
      }),
      new RegExp(`reading the in-toto statement ${layer.digest}: it is not valid JSON`),
    );
  });
});

describe('executeTemplate', () => {
  const input = { Name: 'app', Provenance: { 'linux/arm64': { SLSA: { a: '<x>' } } } };
  test('fields, index with a chained field, json as Go indents and escapes it', () => {
    assert.equal(executeTemplate('{{.Name}}!', input, 't'), 'app!');
    assert.equal(
      executeTemplate('{{json (index .Provenance "linux/arm64").SLSA}}', input, 't'),
      '{\n  "a": "\\u003cx\\u003e"\n}',
    );
    assert.equal(executeTemplate('a {{- .Name -}} b', input, 't'), 'aappb');
  });
  test('an unknown field fails as Go does, naming it', () => {
    assert.throws(
      () => executeTemplate('{{.Nope}}', input, 'imagetools.tplInput'),
      /can't evaluate field Nope in type imagetools.tplInput/,
    );
  });
});

describe('supplementSBOM', () => {
  test('the core SPDX files get the top-most layer holding them; whiteouts hide nothing below', async () => {
    const root = mkdtempSync(join(tmpdir(), 'polyarch-sbom-layers-'));
    const layer = (name: string, files: string[]) => {
      for (const f of files) {
        mkdirSync(join(root, name, f, '..'), { recursive: true });
        writeFileSync(join(root, name, f), name);
      }
      return join(root, name);
    };
    const base = layer('base', ['bin/sh', 'etc/conf', 'etc/gone']);
    const top = layer('top', ['bin/sh', 'etc/.wh.gone', 'app']);
    const finder = new LayerFileFinder([
      { dir: base, digest: dgst('b') },
      { dir: top, digest: dgst('t') },
    ]);
    const doc = {
      files: [
        { fileName: '/bin/sh' },
        { fileName: 'etc/conf' },
        { fileName: '/app', comment: 'kept' },
        { fileName: '/nope' },
      ],
      creationInfo: { creators: ['Tool: scanner'] },
    };
    const core = await supplementSBOM(
      { predicateType: PredicateSPDX, predicate: doc, path: 'sbom.spdx.json' },
      finder,
      'polyarch-v0',
    );
    assert.deepEqual(core.predicate, {
      files: [
        { fileName: '/bin/sh', comment: `layerID: ${dgst('t')}` },
        { fileName: 'etc/conf', comment: `layerID: ${dgst('b')}` },
        { fileName: '/app', comment: 'kept' },
        { fileName: '/nope' },
      ],
      creationInfo: { creators: ['Tool: scanner', 'Tool: polyarch-v0'] },
    });
    assert.equal(doc.files[0]!.comment, undefined, 'the scanner statement itself is not changed');
    const extra = { predicateType: PredicateSPDX, predicate: doc, path: 'sbom-context.spdx.json' };
    assert.equal(await supplementSBOM(extra, finder, 'x'), extra, 'only the core SBOM');
  });
});
