/**
 * Every file output of `polyarch build`, on the cross-compiling seed (../shared/fixtures/
 * seed-hello-xx) built once for linux/arm, linux/arm64 and linux/amd64 and then re-exported
 * from the cache: OCI layouts read by skopeo and umoci, file trees per platform checked by
 * their ELF headers and GNU tar, stdout outputs, `-q`, `--iidfile`, `--metadata-file`,
 * annotations and labels, reproducible digests across fresh roots with SOURCE_DATE_EPOCH, and
 * bad outputs refused before the build with the store left as it was.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { polyarch } from '../helpers/cli.js';
import { ensureBaseImages, fixturesDir, polyarchBin, tempDir } from '../helpers/fixtures.js';

const platforms = 'linux/arm,linux/arm64,linux/amd64';
const epoch = '1700000000';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** e_machine of an ELF file: 62 x86-64, 183 AArch64, 40 ARM. */
function elfMachine(path: string): number {
  const b = readFileSync(path);
  assert.equal(b.subarray(0, 4).toString('latin1'), '\x7fELF', `${path} is an ELF file`);
  return b.readUInt16LE(18);
}

/** Runs polyarch with stdout as bytes (for tarballs written to stdout). */
function polyarchBytes(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(polyarchBin, [...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
  });
}

const tarList = (file: string) =>
  execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .trim()
    .split('\n');
const tarCat = (file: string, member: string) =>
  execFileSync('tar', ['-xOf', file, member], { maxBuffer: 64 << 20 });

describe('build outputs (files, stdout, metadata)', () => {
  const root = tempDir('polyarch-output-');
  const out = tempDir('polyarch-output-files-');
  const ctx = join(tempDir(), 'seed-hello-xx');
  const env = { POLYARCH_ROOT: root, SOURCE_DATE_EPOCH: epoch };
  const build = (args: readonly string[], opts: { platforms?: string; env?: NodeJS.ProcessEnv } = {}) =>
    polyarch(
      [
        'build',
        ...(args.includes('-q') ? [] : ['--progress', 'plain']),
        '--platform',
        opts.platforms ?? platforms,
        ...args,
        ctx,
      ],
      { env: { ...env, ...opts.env } },
    );
  let indexDigest = '';

  before(async () => {
    ensureBaseImages();
    const r = await polyarch(['emulators', 'install', 'linux/arm64', 'linux/arm']);
    assert.equal(r.code, 0, r.stderr);
    cpSync(join(fixturesDir, 'seed-hello-xx'), ctx, { recursive: true });
  });

  test('type=oci as a tarball and as a directory: skopeo and umoci read them; -q prints the index digest', async () => {
    const r = await build([
      '-q',
      '-t',
      'hello-out',
      '-o',
      `type=oci,dest=${join(out, 'img.tar')}`,
      '-o',
      `type=oci,dest=${join(out, 'layout')},tar=false`,
      '--metadata-file',
      join(out, 'meta.json'),
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    indexDigest = r.stdout.trim();
    assert.match(indexDigest, /^sha256:[0-9a-f]{64}$/, 'stdout is the digest alone');

    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${join(out, 'img.tar')}`]);
    assert.equal(sha(raw), indexDigest);
    const index = JSON.parse(raw.toString());
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m: { platform: { architecture: string; variant?: string } }) =>
        [m.platform.architecture, m.platform.variant ?? ''].join('/'),
      ),
      ['arm/v7', 'arm64/', 'amd64/'],
    );
    const entries = tarList(join(out, 'img.tar'));
    for (const e of entries) assert.match(e, / 0\/0 /, `owned by 0:0: ${e}`);
    const names = entries.map((e) => e.split(/\s+/).at(-1));
    assert.ok(names.includes('oci-layout') && names.includes('index.json'), names.join(' '));
    // index, 3 manifests + 3 configs; layers: 3 busybox, RUN mkdir (equal on all three), WORKDIR's
    // empty layer (as BuildKit commits it), 3 binaries
    assert.equal(names.filter((n) => n?.startsWith('blobs/sha256/') && n.length > 20).length, 1 + 3 * 2 + 8);
    const layoutIndex = JSON.parse(tarCat(join(out, 'img.tar'), 'index.json').toString());
    assert.deepEqual(layoutIndex.manifests[0].annotations, {
      'io.containerd.image.name': 'docker.io/library/hello-out:latest',
      'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
      'org.opencontainers.image.ref.name': 'latest',
    });

    const arm64 = JSON.parse(
      execFileSync('skopeo', ['inspect', '--override-arch', 'arm64', `oci:${join(out, 'layout')}:latest`], {
        encoding: 'utf8',
      }),
    );
    assert.equal(arm64.Architecture, 'arm64');
    assert.equal(arm64.Digest, indexDigest);
    assert.equal(
      execFileSync('umoci', ['ls', '--layout', join(out, 'layout')], { encoding: 'utf8' }).trim(),
      'latest',
    );
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    assert.equal(meta['containerimage.digest'], indexDigest);
    assert.deepEqual(meta['containerimage.descriptor'], {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: indexDigest,
      size: raw.length,
    });
    assert.equal(meta['containerimage.config.digest'], undefined, 'several platforms: no single config');
    assert.equal(meta['image.name'], 'docker.io/library/hello-out:latest');
    assert.match(meta['buildx.build.ref'], /^default\/default\/[a-z0-9]{25}$/);
  });

  test('umoci unpacks a one-platform OCI layout into the arm64 tree', async () => {
    const layout = join(out, 'arm64-layout');
    const r = await build(['-o', `type=oci,dest=${layout},tar=false,name=hello-arm64`], {
      platforms: 'linux/arm64',
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const bundle = join(out, 'bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, bundle], { stdio: 'pipe' });
    assert.equal(elfMachine(join(bundle, 'rootfs', 'app', 'hello')), 183);
    assert.ok(existsSync(join(bundle, 'rootfs', 'bin', 'busybox')));
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    assert.deepEqual(config.process.args, ['./hello']);
  });

  test('type=local: one directory per platform; type=tar: the same trees as a tarball', async () => {
    const local = join(out, 'local');
    const tar = join(out, 'fs.tar');
    const r = await build(['-o', `type=local,dest=${local}`, '-o', `type=tar,dest=${tar}`]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, /exporting to client directory/);
    const machines = { linux_arm_v7: 40, linux_arm64: 183, linux_amd64: 62 };
    for (const [dir, machine] of Object.entries(machines)) {
      assert.equal(elfMachine(join(local, dir, 'app', 'hello')), machine, dir);
      assert.ok(lstatSync(join(local, dir, 'bin', 'sh'), { throwIfNoEntry: false }), `${dir}/bin/sh`);
    }
    const listed = tarList(tar);
    const hello = listed.filter((l) => l.endsWith('/app/hello'));
    assert.deepEqual(hello.map((l) => l.split(/\s+/).at(-1)).sort(), [
      'linux_amd64/app/hello',
      'linux_arm64/app/hello',
      'linux_arm_v7/app/hello',
    ]);
    for (const l of hello) {
      assert.match(l, /^-rwx.* 0\/0 /, l);
      assert.match(l, / 2023-11-14 22:13 /, `mtime clamped to SOURCE_DATE_EPOCH: ${l}`);
    }
    for (const dir of Object.keys(machines)) {
      assert.deepEqual(tarCat(tar, `${dir}/app/hello`), readFileSync(join(local, dir, 'app', 'hello')));
    }
    const extracted = join(out, 'extracted');
    mkdirSync(extracted);
    execFileSync('tar', ['-xf', tar, '-C', extracted]);
    assert.equal(elfMachine(join(extracted, 'linux_arm64', 'app', 'hello')), 183);

    // one platform: no sub-directory
    const single = join(out, 'single');
    const one = await build(['-o', `type=local,dest=${single}`], { platforms: 'linux/arm64' });
    assert.equal(one.code, 0, one.stderr.slice(-3000));
    assert.equal(elfMachine(join(single, 'app', 'hello')), 183);
  });

  test('dest=- writes tarballs to stdout (-o - is type=tar, type=oci,dest=- a layout)', async () => {
    const tree = await polyarchBytes(
      ['build', '--progress', 'plain', '--platform', 'linux/arm64', '-o', '-', ctx],
      env,
    );
    assert.equal(tree.code, 0, tree.stderr.slice(-3000));
    const file = join(out, 'stdout.tar');
    writeFileSync(file, tree.stdout);
    assert.ok(tarList(file).some((l) => l.endsWith(' app/hello')));
    const hello = join(out, 'stdout-hello');
    writeFileSync(hello, tarCat(file, 'app/hello'));
    assert.equal(elfMachine(hello), 183);

    const oci = await polyarchBytes(
      ['build', '--progress', 'plain', '--platform', platforms, '-o', 'type=oci,dest=-', ctx],
      env,
    );
    assert.equal(oci.code, 0, oci.stderr.slice(-3000));
    const ociFile = join(out, 'stdout-oci.tar');
    writeFileSync(ociFile, oci.stdout);
    const index = JSON.parse(tarCat(ociFile, 'index.json').toString());
    assert.equal(index.manifests[0].digest, indexDigest, 'the same image as the first export');
  });

  test('one platform: -q prints the image ID (config digest), --iidfile and --metadata-file agree', async () => {
    const iid = join(out, 'iid');
    const metaFile = join(out, 'meta1.json');
    const r = await build(['-q', '-t', 'hello-one:1', '--iidfile', iid, '--metadata-file', metaFile], {
      platforms: 'linux/arm64',
    });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.equal(r.stderr, '', 'quiet: nothing on stderr');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    const id = r.stdout.trim();
    assert.equal(id, meta['containerimage.config.digest']);
    assert.equal(readFileSync(iid, 'utf8'), id);
    assert.notEqual(meta['containerimage.digest'], id);
    assert.equal(meta['containerimage.descriptor'].mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(meta['containerimage.descriptor'].platform, { architecture: 'arm64', os: 'linux' });
    assert.equal(meta['image.name'], 'docker.io/library/hello-one:1');
    // the config the store names is the one reported
    const store = JSON.parse(readFileSync(join(root, 'content', 'index.json'), 'utf8'));
    const named = store.manifests.find(
      (m: { annotations?: Record<string, string> }) =>
        m.annotations?.['org.opencontainers.image.ref.name'] === 'docker.io/library/hello-one:1',
    );
    assert.equal(named?.digest, meta['containerimage.digest']);
  });

  test('--annotation in all its forms, --label, and index-descriptor annotations in the layout', async () => {
    const file = join(out, 'annotated.tar');
    const r = await build([
      '--annotation',
      'index:org.opencontainers.image.description=three platforms',
      '--annotation',
      'manifest[linux/arm64]:com.example.only-arm64=yes',
      '--annotation',
      'org.opencontainers.image.title=hello',
      '--annotation',
      'manifest-descriptor:com.example.entry=1',
      '--annotation',
      'index-descriptor:com.example.top=1',
      '--label',
      'com.example.label=labelled',
      '-o',
      `type=oci,dest=${file},annotation-manifest[linux/amd64].com.example.amd=1`,
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const blob = (d: string) => JSON.parse(tarCat(file, `blobs/sha256/${d.slice(7)}`).toString());
    const top = JSON.parse(tarCat(file, 'index.json').toString()).manifests[0];
    assert.equal(top.annotations['com.example.top'], '1');
    const index = blob(top.digest);
    assert.deepEqual(index.annotations, { 'org.opencontainers.image.description': 'three platforms' });
    for (const m of index.manifests) {
      assert.deepEqual(m.annotations, { 'com.example.entry': '1' });
      const manifest = blob(m.digest);
      const expected: Record<string, string> = { 'org.opencontainers.image.title': 'hello' };
      if (m.platform.architecture === 'arm64') expected['com.example.only-arm64'] = 'yes';
      if (m.platform.architecture === 'amd64') expected['com.example.amd'] = '1';
      assert.deepEqual(manifest.annotations, expected, m.platform.architecture);
      assert.equal(blob(manifest.config.digest).config.Labels['com.example.label'], 'labelled');
    }
  });

  test('SOURCE_DATE_EPOCH: a build in a fresh root gives the same index digest; another epoch does not', async () => {
    const fresh = tempDir('polyarch-output-fresh-');
    const again = await polyarch(['build', '-q', '--platform', platforms, ctx, '-o', 'type=image'], {
      env: { POLYARCH_ROOT: fresh, SOURCE_DATE_EPOCH: epoch },
    });
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    assert.equal(again.stdout.trim(), indexDigest);
    // the epoch as a build argument, in the first root: the same again
    const arg = await polyarch(
      [
        'build',
        '-q',
        '--platform',
        platforms,
        '--build-arg',
        `SOURCE_DATE_EPOCH=${epoch}`,
        ctx,
        '-o',
        'type=image',
      ],
      { env: { POLYARCH_ROOT: root } },
    );
    assert.equal(arg.code, 0, arg.stderr.slice(-3000));
    assert.equal(arg.stdout.trim(), indexDigest);
    const other = await polyarch(['build', '-q', '--platform', platforms, ctx, '-o', 'type=image'], {
      env: { POLYARCH_ROOT: fresh, SOURCE_DATE_EPOCH: String(Number(epoch) + 86400) },
    });
    assert.equal(other.code, 0, other.stderr.slice(-3000));
    assert.notEqual(other.stdout.trim(), indexDigest);
  });

  test('bad outputs: one clear error before anything is built, the store as it was', async () => {
    const file = join(out, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string[], RegExp][] = [
      [['-o', 'type=floppy'], /unknown output type "floppy"/],
      [['-o', `type=local,dest=${join(out, 'x')},bogus=1`], /unknown option "bogus" for output type=local/],
      [['-o', 'type=oci,dest=x.tar,oci-mediatypes=maybe'], /oci-mediatypes=maybe: expected true or false/],
      [['-o', 'type=local'], /dest directory is required/],
      [['-o', `type=tar,dest=${join(out, 'missing', 'x.tar')}`], /cannot write .*missing.*does not exist/],
      [['-o', `type=oci,dest=${out}`], /cannot write .*: it is a directory/],
      [['-o', `type=local,dest=${file}`], /cannot write .*a-file: it exists and is not a directory/],
      [['-o', `type=local,dest=${join(file, 'sub')}`], /cannot write .*a-file is not a directory/],
      [['--push'], /tag is needed when pushing to registry/],
      [
        ['-o', 'type=registry,name=registry.example:5000/x,registry.insecure=true'],
        /registry\.insecure for registry\.example:5000: plain HTTP is used for loopback hosts and those listed in \$POLYARCH_INSECURE_REGISTRIES only/,
      ],
      [
        ['--annotation', 'index:a=b', '-t', 'x'],
        /index annotations not supported for single platform export/,
      ],
    ];
    const storeIndex = () => readFileSync(join(root, 'content', 'index.json'));
    const before = storeIndex();
    for (const [args, message] of cases) {
      const single = args.includes('index:a=b');
      const r = await build(args, single ? { platforms: 'linux/arm64' } : {});
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.match(/ERROR/g)?.length, 1, `one error: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /CACHED|exporting/, `nothing built: ${r.stderr}`);
      assert.deepEqual(storeIndex(), before, `store unchanged: ${args.join(' ')}`);
    }
  });
});
