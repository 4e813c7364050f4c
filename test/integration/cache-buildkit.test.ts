/**
 * `--cache-to`/`--cache-from` on BuildKit nodes: handed to the node's own cache export and
 * import. Against Debian's dockerd 20.10 (the docker driver; its BuildKit exports inline
 * caches only): an inline cache exported on one engine and pushed by polyarch is in the image
 * config, and a second build on a fresh engine imports it (`--cache-from IMAGE`, a registry
 * import) and finds its steps CACHED; the engine's refusal of `type=registry` export and
 * polyarch's of `type=local` are said with the node.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { polyarch, steps } from '../helpers/cli.js';
import { type Dockerd, dockerMissing, startDockerd } from '../helpers/dockerd.js';
import { ensureBaseImages, registryHost, tempDir } from '../helpers/fixtures.js';

const skip = dockerMissing();
if (skip) console.log(`# cache-buildkit: skipped: ${skip}`);

const work = /\] RUN /;

describe('cache flags on a BuildKit node (docker driver, dockerd 20.10)', {
  skip: skip !== undefined,
}, () => {
  const ctx = tempDir('polyarch-bkcache-ctx-');
  const env = {
    POLYARCH_ROOT: tempDir('polyarch-bkcache-'),
    DOCKER_CONFIG: tempDir('polyarch-bkcache-cfg-'),
  };
  const pa = (args: readonly string[]) => polyarch(args, { env });
  const image = `${registryHost}/polyarch-bkcache-${process.pid}/app:inline`;
  let engine: Dockerd | undefined;

  /** A fresh engine as builder `name` (the previous one stopped: one engine at a time). */
  const freshBuilder = async (name: string) => {
    await engine?.stop();
    engine = await startDockerd({ netns: true, bridge: true });
    assert.equal((await pa(['create', '--name', name, '--driver', 'docker', engine.tcpHost!])).code, 0);
  };

  before(async () => {
    ensureBaseImages();
    writeFileSync(
      join(ctx, 'Dockerfile'),
      `FROM ${registryHost}/busybox:1.35\nRUN echo one-${process.pid} > /one\nRUN echo two > /two\n`,
    );
    await freshBuilder('bka');
  });
  after(async () => {
    await engine?.stop();
  });

  test('type=local is refused on the node; type=registry export is refused by the engine, said with the node', async () => {
    const local = await pa(['build', '--builder', 'bka', '--cache-to', `type=local,dest=${tempDir()}`, ctx]);
    assert.notEqual(local.code, 0);
    assert.match(local.stderr, /--cache-to type=local is not supported on BuildKit node bka0: /);
    const reg = await pa([
      'build',
      '--builder',
      'bka',
      '--cache-to',
      `type=registry,ref=${registryHost}/polyarch-bkcache-${process.pid}/cache:x`,
      ctx,
    ]);
    assert.notEqual(reg.code, 0);
    assert.match(
      reg.stderr,
      /--cache-to type=registry: the BuildKit of node bka0 \(tcp:\/\/[^)]+\) cannot export caches of that type \(.*unknown cache exporter: "registry"\)/,
    );
  });

  test('type=inline: the engine writes it into the pushed image; a fresh engine imports it: RUN steps CACHED', async () => {
    const a = await pa([
      'build',
      '--builder',
      'bka',
      '--platform',
      'linux/amd64',
      '--cache-to',
      'type=inline',
      '--push',
      '-t',
      image,
      ctx,
    ]);
    assert.equal(a.code, 0, a.stderr.slice(-3000));
    const path = image.slice(registryHost.length + 1).replace(':inline', '');
    const manifest = (await (
      await fetch(`http://${registryHost}/v2/${path}/manifests/inline`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { config: { digest: string } };
    const config = (await (
      await fetch(`http://${registryHost}/v2/${path}/blobs/${manifest.config.digest}`)
    ).json()) as Record<string, unknown>;
    assert.ok(config['moby.buildkit.cache.v0'], `config keys: ${Object.keys(config)}`);

    await freshBuilder('bkb');
    const b = await pa([
      'build',
      '--builder',
      'bkb',
      '--progress',
      'rawjson',
      '--platform',
      'linux/amd64',
      '--cache-from',
      image,
      '-o',
      'type=cacheonly',
      ctx,
    ]);
    assert.equal(b.code, 0, b.stderr.slice(-3000));
    const s = steps(b.stderr, work);
    assert.equal(s.length, 2, JSON.stringify(s));
    assert.deepEqual(
      s.filter((x) => !x.cached),
      [],
    );
  });
});
