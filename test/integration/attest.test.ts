/**
 * Attestations on real parts: the seed-hello-xx build for two platforms with SLSA provenance,
 * pushed to the fixture registry and read back by skopeo (an independent reader of the index
 * and of every attestation manifest), by `imagetools inspect --format` (buildx's `.Provenance`),
 * and by a real Docker engine, which must pull and run the images past the `unknown/unknown`
 * entries. Field by field: the materials are the base images by digest and platform, the
 * build args are left out by mode=min, secrets appear by id only, mode=max carries the steps.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { polyarch } from '../helpers/cli.js';
import { type Dockerd, dockerMissing, startDockerd } from '../helpers/dockerd.js';
import { ensureBaseImages, fixturesDir, tempDir } from '../helpers/fixtures.js';
import { skopeo } from '../helpers/images.js';

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}
interface Statement {
  _type: string;
  predicateType: string;
  subject: { name: string; digest: Record<string, string> }[];
  // biome-ignore lint/suspicious/noExplicitAny: a predicate is free-form JSON checked field by field
  predicate: any;
}

const platforms = 'linux/amd64,linux/arm64';
const secretValue = `s3cr3t-${process.pid}-value`;

function raw(ref: string): Buffer {
  return Buffer.from(skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${ref}`]), 'utf8');
}

function blob(repo: string, digest: string): Buffer {
  return execFileSync('curl', ['-sf', `http://localhost:5000/v2/${repo}/blobs/${digest}`]);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('attestations (provenance) on the seed-hello-xx build', () => {
  const root = tempDir();
  const ctx = join(tempDir(), 'seed-hello-xx');
  const secretFile = join(tempDir(), 'token');
  const repo = 'attest/hello';
  const env = { POLYARCH_ROOT: root, DOCKER_CONFIG: tempDir('polyarch-attest-config-') };
  const build = (args: readonly string[]) =>
    polyarch(['build', '--progress', 'plain', '--platform', platforms, ...args, ctx], { env });

  before(async () => {
    ensureBaseImages();
    const r = await polyarch(['emulators', 'install', 'linux/arm64']);
    assert.equal(r.code, 0, r.stderr);
    cpSync(join(fixturesDir, 'seed-hello-xx'), ctx, { recursive: true });
    // a step that reads a secret: its id may appear in the provenance, its value never
    const df = readFileSync(join(ctx, 'Dockerfile'), 'utf8').replace(
      'RUN mkdir /app\nWORKDIR /app\nCOPY',
      'RUN --mount=type=secret,id=token,required=true test -s /run/secrets/token && mkdir /app\nWORKDIR /app\nCOPY',
    );
    assert.notEqual(df, readFileSync(join(ctx, 'Dockerfile'), 'utf8'), 'the secret step was added');
    writeFileSync(join(ctx, 'Dockerfile'), df);
    writeFileSync(secretFile, secretValue);
  });

  const pushed: { index?: { manifests: Desc[] }; digest?: string } = {};

  test('--provenance=mode=max --push: one attestation manifest per platform, as BuildKit lays them out', async () => {
    const r = await build([
      '--provenance=mode=max',
      '--secret',
      `id=token,src=${secretFile}`,
      '--build-arg',
      'GREETING=hi',
      '-t',
      `localhost:5000/${repo}:max`,
      '--push',
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    assert.match(r.stderr, /exporting attestation manifest sha256:[0-9a-f]{64}/);
    const index = JSON.parse(raw(`localhost:5000/${repo}:max`).toString()) as { manifests: Desc[] };
    pushed.index = index;
    const images = index.manifests.filter((m) => m.platform?.os === 'linux');
    const atts = index.manifests.filter((m) => m.platform?.os === 'unknown');
    assert.deepEqual(
      images.map((m) => m.platform?.architecture),
      ['amd64', 'arm64'],
    );
    assert.equal(atts.length, 2);
    for (const [i, a] of atts.entries()) {
      assert.deepEqual(a.platform, { architecture: 'unknown', os: 'unknown' });
      assert.deepEqual(a.annotations, {
        'vnd.docker.reference.digest': images[i]!.digest,
        'vnd.docker.reference.type': 'attestation-manifest',
      });
      const m = JSON.parse(raw(`localhost:5000/${repo}@${a.digest}`).toString());
      assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(m.layers.length, 1);
      assert.equal(m.layers[0].mediaType, 'application/vnd.in-toto+json');
      assert.equal(m.layers[0].annotations['in-toto.io/predicate-type'], 'https://slsa.dev/provenance/v0.2');
      const config = JSON.parse(blob(repo, m.config.digest).toString());
      assert.deepEqual(config, {
        architecture: 'unknown',
        os: 'unknown',
        config: {},
        rootfs: { type: 'layers', diff_ids: [m.layers[0].digest] },
      });
    }
  });

  test('skopeo copies the whole index, attestations included, into an OCI layout', () => {
    const dir = tempDir();
    skopeo([
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://localhost:5000/${repo}:max`,
      `oci:${dir}:x`,
    ]);
    const blobs = new Set(readdirSync(join(dir, 'blobs', 'sha256')));
    for (const m of pushed.index!.manifests) assert.ok(blobs.has(m.digest.slice(7)), m.digest);
  });

  test('the provenance, field by field (SLSA v0.2, mode=max)', () => {
    const images = pushed.index!.manifests.filter((m) => m.platform?.os === 'linux');
    const atts = pushed.index!.manifests.filter((m) => m.platform?.os === 'unknown');
    for (const [i, a] of atts.entries()) {
      const m = JSON.parse(raw(`localhost:5000/${repo}@${a.digest}`).toString());
      const bytes = blob(repo, m.layers[0].digest);
      assert.equal(sha(bytes), m.layers[0].digest);
      assert.ok(!bytes.toString().includes(secretValue), 'the secret value is not in the provenance');
      const st = JSON.parse(bytes.toString()) as Statement;
      const arch = images[i]!.platform!.architecture;
      assert.equal(st._type, 'https://in-toto.io/Statement/v0.1');
      assert.equal(st.predicateType, 'https://slsa.dev/provenance/v0.2');
      assert.deepEqual(st.subject, [
        {
          name: `pkg:docker/localhost%3A5000/attest/hello@max?platform=linux%2F${arch}`,
          digest: { sha256: images[i]!.digest.slice(7) },
        },
      ]);
      const p = st.predicate;
      assert.equal(p.buildType, 'https://mobyproject.org/buildkit@v1');
      assert.deepEqual(p.builder, { id: '' });
      const golang = JSON.parse(raw('localhost:5000/golang:1.23').toString());
      const busybox = JSON.parse(raw('localhost:5000/busybox:1.35').toString());
      assert.ok(golang.manifests && busybox.manifests, 'both bases are indexes');
      assert.deepEqual(p.materials, [
        {
          uri: `pkg:docker/localhost%3A5000/busybox@1.35?platform=linux%2F${arch}`,
          digest: { sha256: sha(raw('localhost:5000/busybox:1.35')).slice(7) },
        },
        {
          uri: 'pkg:docker/localhost%3A5000/golang@1.23?platform=linux%2Famd64',
          digest: { sha256: sha(raw('localhost:5000/golang:1.23')).slice(7) },
        },
      ]);
      assert.deepEqual(p.invocation.configSource, { entryPoint: 'Dockerfile' });
      assert.deepEqual(p.invocation.environment, { platform: 'linux/amd64' });
      assert.equal(p.invocation.parameters.frontend, 'dockerfile.v0');
      assert.deepEqual(p.invocation.parameters.args, { 'build-arg:GREETING': 'hi' });
      assert.deepEqual(p.invocation.parameters.secrets, [{ id: 'token' }]);
      assert.deepEqual(p.invocation.parameters.locals, [{ name: 'context' }, { name: 'dockerfile' }]);
      assert.equal(p.metadata.completeness.materials, false, 'a local context is not a pinned material');
      assert.equal(p.metadata.reproducible, false);
      assert.match(p.metadata.buildInvocationID, /^[0-9a-z]{25}$/);
      assert.ok(Date.parse(p.metadata.buildStartedOn) <= Date.parse(p.metadata.buildFinishedOn));
      const steps = p.buildConfig.llbDefinition as { id: string; op: { Op: unknown } }[];
      const execs = steps.map((s) => JSON.stringify(s.op)).filter((s) => s.includes('"exec"'));
      assert.ok(
        execs.some((s) => s.includes('go build') && s.includes(`TARGETARCH=${arch}`)),
        'the go build step is among the steps',
      );
      assert.ok(
        execs.some((s) => s.includes('"secretOpt":{"ID":"token","optional":false}')),
        'the secret mount, by id',
      );
      assert.deepEqual(steps.at(-1)!.op, { Op: null });
      const meta = p.metadata['https://mobyproject.org/buildkit@v1#metadata'];
      assert.equal(meta.source.infos[0].filename, 'Dockerfile');
      assert.equal(
        Buffer.from(meta.source.infos[0].data, 'base64').toString(),
        readFileSync(join(ctx, 'Dockerfile'), 'utf8'),
      );
      const manifest = JSON.parse(raw(`localhost:5000/${repo}@${images[i]!.digest}`).toString());
      const chains = Object.values(meta.layers) as { digest: string }[][][];
      assert.ok(
        chains.some(
          (c) =>
            JSON.stringify(c[0]!.map((l) => l.digest)) ===
            JSON.stringify(manifest.layers.map((l: Desc) => l.digest)),
        ),
        'the final step maps to the image layers',
      );
    }
  });

  test('imagetools inspect --format reads .Provenance per platform, as buildx does', async () => {
    const r = await polyarch(
      ['imagetools', 'inspect', `localhost:5000/${repo}:max`, '--format', '{{json .Provenance}}'],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    const byPlatform = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(byPlatform), ['linux/amd64', 'linux/arm64']);
    assert.equal(byPlatform['linux/arm64'].SLSA.buildType, 'https://mobyproject.org/buildkit@v1');
    const one = await polyarch(
      [
        'imagetools',
        'inspect',
        `localhost:5000/${repo}:max`,
        '--format',
        '{{json (index .Provenance "linux/arm64").SLSA.invocation.environment}}',
      ],
      { env },
    );
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), { platform: 'linux/amd64' });
    const sbom = await polyarch(
      ['imagetools', 'inspect', `localhost:5000/${repo}:max`, '--format', '{{json .SBOM}}'],
      {
        env,
      },
    );
    assert.equal(sbom.stdout, '{}', 'no SBOM was asked for');
  });

  test('mode=min leaves out build args and secrets; version=v1 converts as BuildKit', async () => {
    const r = await build([
      '--attest',
      'type=provenance,mode=min,version=v1,builder-id=https://ci.example/run/7',
      '--secret',
      `id=token,src=${secretFile}`,
      '--build-arg',
      'GREETING=hi',
      '-t',
      `localhost:5000/${repo}:min`,
      '--push',
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const out = await polyarch(
      ['imagetools', 'inspect', `localhost:5000/${repo}:min`, '--format', '{{json .Provenance}}'],
      { env },
    );
    const p = JSON.parse(out.stdout)['linux/arm64'].SLSA;
    assert.equal(
      p.buildDefinition.buildType,
      'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md',
    );
    assert.equal(p.runDetails.builder.id, 'https://ci.example/run/7');
    assert.equal(p.buildDefinition.externalParameters.request.args, undefined, 'no build args in mode=min');
    assert.equal(p.buildDefinition.externalParameters.request.secrets, undefined, 'no secrets in mode=min');
    assert.equal(p.buildDefinition.internalParameters.buildConfig, undefined, 'no steps in mode=min');
    assert.equal(p.buildDefinition.internalParameters.builderPlatform, 'linux/amd64');
    assert.deepEqual(p.runDetails.metadata.buildkit_completeness, {
      request: false,
      resolvedDependencies: false,
    });
    assert.equal(p.buildDefinition.resolvedDependencies.length, 2);
  });

  test('run, pull --platform and images skip the attestation manifests', async () => {
    const fresh = { ...env, POLYARCH_ROOT: tempDir() };
    const run = await polyarch(['run', '--rm', '--platform', 'linux/arm64', `localhost:5000/${repo}:max`], {
      env: fresh,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'Hello, arm64!');
    const pull = await polyarch(['pull', '--platform', 'linux/amd64', `localhost:5000/${repo}:max`], {
      env: fresh,
    });
    assert.equal(pull.code, 0, pull.stderr);
    const images = await polyarch(['images', '--format', 'json'], { env: fresh });
    assert.equal(images.code, 0, images.stderr);
    assert.match(images.stdout, /linux\/amd64/);
    assert.doesNotMatch(images.stdout, /unknown/);
  });

  test('imagetools create, and pull --all-platforms + tag + push, carry the attestations over', async () => {
    const created = await polyarch(
      ['imagetools', 'create', '-t', `localhost:5000/${repo}-created:1`, `localhost:5000/${repo}:max`],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    const fresh = { ...env, POLYARCH_ROOT: tempDir() };
    const pull = await polyarch(['pull', '--all-platforms', `localhost:5000/${repo}:max`], { env: fresh });
    assert.equal(pull.code, 0, pull.stderr);
    const tag = await polyarch(['tag', `localhost:5000/${repo}:max`, `localhost:5000/${repo}-retagged:1`], {
      env: fresh,
    });
    assert.equal(tag.code, 0, tag.stderr);
    const push = await polyarch(['push', `localhost:5000/${repo}-retagged:1`], { env: fresh });
    assert.equal(push.code, 0, push.stderr);
    for (const name of [`${repo}-created:1`, `${repo}-retagged:1`]) {
      const index = JSON.parse(raw(`localhost:5000/${name}`).toString()) as { manifests: Desc[] };
      assert.deepEqual(
        index.manifests.map((m) => m.digest),
        pushed.index!.manifests.map((m) => m.digest),
        `${name}: every entry, attestations included`,
      );
      const out = await polyarch(
        ['imagetools', 'inspect', `localhost:5000/${name}`, '--format', '{{json .Provenance}}'],
        { env },
      );
      assert.deepEqual(Object.keys(JSON.parse(out.stdout)), ['linux/amd64', 'linux/arm64'], name);
    }
  });

  test('oci-mediatypes=false is refused with attestations, before anything is built', async () => {
    const r = await build([
      '--provenance=true',
      '-o',
      `type=image,name=localhost:5000/${repo}:docker,push=true,oci-mediatypes=false`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot export attestations with "oci-mediatypes=false"/);
    assert.doesNotMatch(r.stderr, /\[internal\] load/);
  });

  test('oci-artifact=true: the OCI 1.1 form, with subject and artifactType', async () => {
    const r = await build([
      '--provenance=mode=min',
      '-o',
      `type=image,name=localhost:5000/${repo}:artifact,push=true,oci-artifact=true`,
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const index = JSON.parse(raw(`localhost:5000/${repo}:artifact`).toString()) as { manifests: Desc[] };
    const images = index.manifests.filter((m) => m.platform?.os === 'linux');
    const atts = index.manifests.filter((m) => m.platform?.os === 'unknown');
    for (const [i, a] of atts.entries()) {
      const m = JSON.parse(raw(`localhost:5000/${repo}@${a.digest}`).toString());
      assert.equal(m.artifactType, 'application/vnd.docker.attestation.manifest.v1+json');
      assert.deepEqual(m.config, {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
        data: 'e30=',
      });
      assert.deepEqual(m.subject, {
        mediaType: images[i]!.mediaType,
        digest: images[i]!.digest,
        size: images[i]!.size,
      });
    }
  });
});

describe('attestations as OCI 1.1 referrers (attestation-storage=referrers)', () => {
  const root = tempDir();
  const ctx = tempDir();
  const env = { POLYARCH_ROOT: root, DOCKER_CONFIG: tempDir('polyarch-attest-config-') };
  const repo = 'attest/referrers';

  before(() => {
    ensureBaseImages();
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM localhost:5000/busybox:1.35\nRUN echo built > /built\n');
  });

  test('the index lists only images; each attestation is pushed with a subject and found through the fallback tag', async () => {
    const name = `localhost:5000/${repo}:1`;
    const r = await polyarch(
      [
        'build',
        '--progress',
        'plain',
        '--platform',
        platforms,
        '--provenance=mode=min',
        '-o',
        `type=image,name=${name},push=true,attestation-storage=referrers`,
        ctx,
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const index = JSON.parse(raw(name).toString()) as { manifests: Desc[] };
    assert.deepEqual(
      index.manifests.map((m) => m.platform?.architecture),
      ['amd64', 'arm64'],
      'no unknown/unknown entries',
    );
    for (const image of index.manifests) {
      // Debian's docker-registry has no referrers API: the tag schema is what holds them
      const tag = `sha256-${image.digest.slice(7)}`;
      assert.match(r.stderr, new RegExp(`for ${image.digest} \\(tag ${tag}\\)`));
      const fallback = JSON.parse(raw(`localhost:5000/${repo}:${tag}`).toString());
      assert.equal(fallback.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.equal(fallback.manifests.length, 1);
      const entry = fallback.manifests[0] as Desc & { artifactType: string };
      assert.equal(entry.artifactType, 'application/vnd.docker.attestation.manifest.v1+json');
      const att = JSON.parse(raw(`localhost:5000/${repo}@${entry.digest}`).toString());
      assert.deepEqual(att.subject, { mediaType: image.mediaType, digest: image.digest, size: image.size });
      const st = JSON.parse(blob(repo, att.layers[0].digest).toString()) as Statement;
      assert.equal(st.subject[0]!.digest.sha256, image.digest.slice(7));
    }
    const inspect = await polyarch(['imagetools', 'inspect', name, '--format', '{{json .Provenance}}'], {
      env,
    });
    assert.equal(inspect.code, 0, inspect.stderr);
    const byPlatform = JSON.parse(inspect.stdout);
    assert.deepEqual(Object.keys(byPlatform), ['linux/amd64', 'linux/arm64']);
    assert.equal(byPlatform['linux/amd64'].SLSA.buildType, 'https://mobyproject.org/buildkit@v1');
  });

  test('a later push adds to the fallback tag and keeps what it listed', async () => {
    const name = `localhost:5000/${repo}:2`;
    const args = [
      'build',
      '--progress',
      'plain',
      '--platform',
      'linux/amd64',
      '--provenance=mode=min,reproducible=true',
      '-o',
      `type=image,name=${name},push=true,attestation-storage=referrers`,
      ctx,
    ];
    const first = await polyarch(args, { env });
    assert.equal(first.code, 0, first.stderr.slice(-3000));
    const top = JSON.parse(raw(name).toString()) as Desc & { config?: Desc };
    assert.ok(top.config, 'one platform: the manifest itself, no index');
    const digest = sha(raw(name));
    const before = JSON.parse(raw(`localhost:5000/${repo}:sha256-${digest.slice(7)}`).toString());
    const second = await polyarch(args, { env });
    assert.equal(second.code, 0, second.stderr.slice(-3000));
    const after = JSON.parse(raw(`localhost:5000/${repo}:sha256-${digest.slice(7)}`).toString());
    // the image is the first test's amd64 image: its attestation is already listed, and stays
    assert.ok(before.manifests.length >= 1);
    // a rebuild makes a new provenance (new times): it is added after those already there, none twice
    assert.deepEqual(after.manifests.slice(0, before.manifests.length), before.manifests);
    assert.equal(after.manifests.length, before.manifests.length + 1);
    assert.equal(new Set(after.manifests.map((m: Desc) => m.digest)).size, after.manifests.length);
  });

  test('without push it is refused before the build', async () => {
    const r = await polyarch(
      ['build', '--provenance=true', '-o', 'type=image,name=x/y:1,attestation-storage=referrers', ctx],
      { env },
    );
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /attestation-storage=referrers keeps attestations in a registry: it needs push=true/,
    );
  });
});

describe('attestations in file outputs (type=local, type=tar), as BuildKit writes them', () => {
  const env = { POLYARCH_ROOT: tempDir(), DOCKER_CONFIG: tempDir('polyarch-attest-config-') };
  const ctx = tempDir();
  before(() => {
    ensureBaseImages();
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM localhost:5000/busybox:1.35\nRUN echo built > /built\n');
  });

  test('type=local: provenance.json in each platform directory, about every regular file there', async () => {
    const out = join(tempDir(), 'out');
    const r = await polyarch(
      ['build', '--platform', platforms, '--provenance=mode=min', '-o', `type=local,dest=${out}`, ctx],
      { env },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    for (const dir of ['linux_amd64', 'linux_arm64']) {
      const file = join(out, dir, 'provenance.json');
      const st = JSON.parse(readFileSync(file, 'utf8')) as Statement;
      assert.equal(st.predicateType, 'https://slsa.dev/provenance/v0.2');
      const built = st.subject.find((s) => s.name === 'built');
      assert.deepEqual(built?.digest, { sha256: sha(readFileSync(join(out, dir, 'built'))).slice(7) });
      const busybox = st.subject.find((s) => s.name === 'bin/busybox');
      assert.equal(busybox?.digest.sha256, sha(readFileSync(join(out, dir, 'bin', 'busybox'))).slice(7));
      assert.ok(!st.subject.some((s) => s.name.includes('provenance')), 'not about itself');
      assert.equal(statSync(file).mode & 0o777, 0o600);
    }
  });

  test('type=tar with platform-split=false: one file per platform, the platform in its name', async () => {
    const tarball = join(tempDir(), 'out.tar');
    const r = await polyarch(
      [
        'build',
        '--platform',
        platforms,
        '--provenance=mode=min',
        '-o',
        `type=tar,dest=${tarball},platform-split=false`,
        ctx,
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const names = execFileSync('tar', ['tf', tarball]).toString().split('\n');
    assert.ok(names.includes('provenance.linux_amd64.json'), names.join(' '));
    assert.ok(names.includes('provenance.linux_arm64.json'));
  });
});

describe('a Docker engine reads an image with attestations', () => {
  const missing = dockerMissing();
  let dockerd: Dockerd | undefined;
  before(async () => {
    if (missing) console.log(`# skipping the Docker engine check: ${missing}`);
    else dockerd = await startDockerd();
  });
  after(async () => {
    await dockerd?.stop();
  });

  test('docker pulls and runs each platform past the unknown/unknown entries', {
    skip: missing,
  }, async () => {
    for (const [platform, greeting] of [
      ['linux/arm64', 'Hello, arm64!'],
      ['linux/amd64', 'Hello, amd64!'],
    ] as const) {
      const pull = await dockerd!.docker(['pull', '--platform', platform, 'localhost:5000/attest/hello:max']);
      assert.equal(pull.code, 0, pull.stderr);
      const run = await dockerd!.docker([
        'run',
        '--rm',
        '--network',
        'none',
        '--platform',
        platform,
        'localhost:5000/attest/hello:max',
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), greeting);
    }
  });
  test('--load hands the engine the image without its attestations, and it runs', {
    skip: missing,
  }, async () => {
    const ctx = tempDir();
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM localhost:5000/busybox:1.35\nCMD ["echo", "loaded"]\n');
    const r = await polyarch(['build', '--provenance=mode=max', '--load', '-t', 'attested:loaded', ctx], {
      env: { POLYARCH_ROOT: tempDir(), DOCKER_HOST: dockerd!.host, DOCKER_CONFIG: tempDir() },
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const run = await dockerd!.docker(['run', '--rm', '--network', 'none', 'attested:loaded']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'loaded');
  });
});
