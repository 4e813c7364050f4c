/**
 * SBOM scans on the local engine (issue 11), with real parts: a scanner image speaking BuildKit's
 * protocol is built from the fixture busybox and pushed to the fixture registry with polyarch,
 * then builds with an SBOM request run it (runc, overlayfs, QEMU for arm64) through the local
 * node, and what each platform's scan wrote is checked field by field.
 *
 * Most builds are driven at the node level (driver/local), to see what the node returns; the
 * last one goes through the CLI (`--sbom`, the lead's flag and attestation layout) to the
 * registry, read back with skopeo, plain HTTP and `imagetools inspect`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Attestation, SBOMRequest } from '../../src/attest/types.js';
import { readDockerfile } from '../../src/dockerfile/index.js';
import { buildkitNode } from '../../src/driver/buildkit/node.js';
import { localNode } from '../../src/driver/local/node.js';
import type { SolveRequest } from '../../src/driver/types.js';
import { UnsupportedError } from '../../src/errors.js';
import type { PlatformBuild } from '../../src/exporter/assemble.js';
import { parsePlatform } from '../../src/platforms/index.js';
import type { Vertex } from '../../src/progress/events.js';
import { Progress } from '../../src/progress/writer.js';
import { openWorker } from '../../src/worker/worker.js';
import { polyarch } from '../helpers/cli.js';
import { ensureBaseImages, tempDir } from '../helpers/fixtures.js';
import { skopeo } from '../helpers/images.js';
import { defaultRequest } from '../helpers/requests.js';

/** Lists the files of each filesystem it is given, and records how it was run. */
const scanScript = `#!/bin/sh
set -eu
list_files() {
  (cd "$1" && find . \\( -type f -o -type l \\) | sed 's|^\\.||' | sort) |
    awk 'BEGIN { printf "[" } { printf "%s{\\"fileName\\":\\"%s\\"}", (NR > 1 ? "," : ""), $0 } END { printf "]" }'
}
elf_machine() {
  if [ -f "$1/bin/busybox" ]; then od -An -tx1 -j18 -N2 "$1/bin/busybox" | tr -d ' \\n'; fi
}
statement() {
  printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document",'
  printf '"predicate":{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"%s",' "$1"
  printf '"packages":[{"name":"busybox","elfMachine":"%s"}],"files":%s,' "$(elf_machine "$2")" "$(list_files "$2")"
  printf '"scan":{"sourceReadOnly":%s,"tmpFs":"%s","cwd":"%s","env":{"source":"%s","destination":"%s","extras":"%s","mode":"%s","image":"%s"}}}}\\n' \\
    "$ro" "$tmpfs" "$(pwd)" "$BUILDKIT_SCAN_SOURCE" "$BUILDKIT_SCAN_DESTINATION" \\
    "\${BUILDKIT_SCAN_SOURCE_EXTRAS:-}" "\${BUILDKIT_SCAN_mode:-}" "\${SCANNER_IMAGE_ENV:-}"
}
if touch "$BUILDKIT_SCAN_SOURCE/.scanner-was-here" 2>/dev/null; then ro=false; else ro=true; fi
tmpfs=$(awk '$2 == "/tmp" { print $3 }' /proc/mounts)
case "\${BUILDKIT_SCAN_mode:-}" in
  fail) echo "scanner failing on purpose" >&2; exit 3 ;;
  empty) exit 0 ;;
  invalid) echo '{"predicateType": ' > "$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json"; exit 0 ;;
esac
statement sbom "$BUILDKIT_SCAN_SOURCE" > "$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json"
if [ -n "\${BUILDKIT_SCAN_SOURCE_EXTRAS:-}" ]; then
  for dir in "$BUILDKIT_SCAN_SOURCE_EXTRAS"/*; do
    statement "$(basename "$dir")" "$dir" > "$BUILDKIT_SCAN_DESTINATION/$(basename "$dir").spdx.json"
  done
fi
`;

const scanner = 'localhost:5000/polyarch-test/sbom-scanner:1';

/** What the test scanner puts in each predicate. */
interface TestPredicate {
  spdxVersion: string;
  name: string;
  packages: { name: string; elfMachine: string }[];
  files: { fileName: string; comment?: string }[];
  creationInfo?: { creators?: string[] };
  scan: {
    sourceReadOnly: boolean;
    tmpFs: string;
    cwd: string;
    env: { source: string; destination: string; extras: string; mode: string; image: string };
  };
}

/** One temporary directory for the file (removed at exit), a fresh subdirectory per use. */
const base = tempDir('polyarch-sbom-');
function freshDir(): string {
  return mkdtempSync(join(base, 'd-'));
}

function contextDir(files: Record<string, string>): string {
  const dir = freshDir();
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

before(async () => {
  ensureBaseImages();
  const dir = contextDir({
    'scan.sh': scanScript,
    Dockerfile: [
      'FROM localhost:5000/busybox:1.35',
      'ENV SCANNER_IMAGE_ENV=from-config',
      'COPY scan.sh /scan.sh',
      'WORKDIR /work',
      'ENTRYPOINT ["/bin/sh"]',
      'CMD ["/scan.sh"]',
      '',
    ].join('\n'),
  });
  const r = await polyarch(['build', '--platform', 'linux/amd64', '-t', scanner, '--push', dir], {
    root: freshDir(),
  });
  assert.equal(r.code, 0, r.stderr);
});

interface ScanRun {
  builds?: PlatformBuild[];
  error?: unknown;
  /** the last state of every progress vertex, by name */
  vertexes: Map<string, Vertex>;
}

/** A node's share of a build with an SBOM request, as build/solve hands it over. */
function solveRequest(
  dir: string,
  dockerfile: string,
  names: string[],
  sbom: Partial<SBOMRequest>,
): SolveRequest {
  const platforms = names.map((p) => parsePlatform(p));
  return defaultRequest(
    {
      name: 'Dockerfile',
      path: join(dir, 'Dockerfile'),
      source: Buffer.from(dockerfile),
      parsed: readDockerfile(dockerfile),
    },
    platforms,
    { contextDir: dir, sbom: { generator: scanner, params: {}, ...sbom } },
  );
}

/** Plans and solves a build with an SBOM request on the local node, in a fresh root unless given. */
async function scanBuild(opts: {
  dockerfile: string;
  files?: Record<string, string>;
  platforms: string[];
  sbom: Partial<SBOMRequest>;
  root?: string;
}): Promise<ScanRun> {
  const dir = contextDir({ Dockerfile: opts.dockerfile, ...opts.files });
  const vertexes = new Map<string, Vertex>();
  const progress = new Progress({
    write: (s) => {
      for (const v of s.vertexes ?? []) vertexes.set(v.name, { ...v });
    },
  });
  const worker = await openWorker({ root: opts.root ?? freshDir(), env: process.env, build: true });
  const request = solveRequest(dir, opts.dockerfile, opts.platforms, opts.sbom);
  try {
    const node = localNode({ name: 'default', configured: [], worker });
    const plan = await node.plan(request, {
      progress,
      signal: new AbortController().signal,
      env: process.env,
    });
    return { builds: await plan.solve(), vertexes };
  } catch (error) {
    return { error, vertexes };
  } finally {
    await worker.close();
  }
}

function predicateOf(a: Attestation | undefined): TestPredicate {
  assert.ok(a, 'a statement');
  return a.predicate as TestPredicate;
}

function fileNames(p: TestPredicate): string[] {
  return p.files.map((f) => f.fileName);
}

const twoPlatformDockerfile = `ARG BUILDKIT_SBOM_SCAN_CONTEXT=true
FROM localhost:5000/busybox:1.35 AS tools
ARG BUILDKIT_SBOM_SCAN_STAGE=true
RUN echo tool > /tool-marker
FROM localhost:5000/busybox:1.35 AS unused
ARG BUILDKIT_SBOM_SCAN_STAGE=true
RUN echo never > /never
FROM localhost:5000/busybox:1.35
ARG TARGETARCH
COPY --from=tools /tool-marker /from-tools
RUN echo $TARGETARCH > /only-$TARGETARCH
`;

describe('an SBOM scan of a two-platform build', () => {
  let run: ScanRun;
  const root = freshDir();
  before(async () => {
    run = await scanBuild({
      dockerfile: twoPlatformDockerfile,
      files: { 'ctx-marker.txt': 'context file\n' },
      platforms: ['linux/amd64', 'linux/arm64'],
      sbom: { params: { mode: 'ok' } },
      root,
    });
    assert.equal(run.error, undefined, String(run.error));
  });

  test("each platform's core statement lists that platform's files, core first", () => {
    const builds = run.builds!;
    assert.deepEqual(
      builds.map((b) => `${b.platform.os}/${b.platform.architecture}`),
      ['linux/amd64', 'linux/arm64'],
    );
    const machine = { amd64: '3e00', arm64: 'b700' } as const;
    for (const b of builds) {
      const arch = b.platform.architecture as 'amd64' | 'arm64';
      const other = arch === 'amd64' ? 'arm64' : 'amd64';
      const sbom = b.sbom!;
      assert.equal(sbom[0]!.path, 'sbom.spdx.json');
      assert.equal(sbom[0]!.predicateType, 'https://spdx.dev/Document');
      const core = predicateOf(sbom[0]);
      assert.equal(core.spdxVersion, 'SPDX-2.3');
      assert.equal(core.name, 'sbom');
      const files = fileNames(core);
      assert.ok(files.includes(`/only-${arch}`), `${arch} has /only-${arch}`);
      assert.ok(!files.includes(`/only-${other}`), `${arch} lacks /only-${other}`);
      assert.ok(files.includes('/from-tools'));
      assert.ok(files.includes('/bin/busybox'));
      assert.equal(core.packages[0]!.elfMachine, machine[arch], `the busybox binary scanned for ${arch}`);
    }
  });

  test('the scanner ran as the protocol says: read-only source, tmpfs /tmp, image env and workdir', () => {
    for (const b of run.builds!) {
      const { scan, files } = predicateOf(b.sbom![0]);
      assert.equal(scan.sourceReadOnly, true, 'writing into BUILDKIT_SCAN_SOURCE failed');
      assert.ok(!files.some((f) => f.fileName === '/.scanner-was-here'));
      assert.equal(scan.tmpFs, 'tmpfs');
      assert.equal(scan.cwd, '/work');
      assert.deepEqual(scan.env, {
        source: '/run/src/core/sbom',
        destination: '/run/out/',
        extras: '/run/src/extras',
        mode: 'ok',
        image: 'from-config',
      });
    }
  });

  test('BUILDKIT_SBOM_SCAN_CONTEXT and _STAGE add the context and the stages built, under the extras', () => {
    for (const b of run.builds!) {
      const sbom = b.sbom!;
      assert.deepEqual(
        sbom.map((a) => a.path),
        ['sbom.spdx.json', 'sbom-context.spdx.json', 'sbom-tools.spdx.json'],
        'the unused stage is not built, so not scanned',
      );
      const context = predicateOf(sbom[1]);
      assert.equal(context.name, 'sbom-context');
      assert.deepEqual(fileNames(context), ['/Dockerfile', '/ctx-marker.txt']);
      const tools = predicateOf(sbom[2]);
      assert.ok(fileNames(tools).includes('/tool-marker'));
      assert.ok(!fileNames(tools).includes('/from-tools'));
    }
  });

  test('the scan is a step of the build, named as BuildKit names it, and cached on a rebuild', async () => {
    for (const p of ['linux/amd64', 'linux/arm64']) {
      const v = run.vertexes.get(`[${p}] generating sbom using ${scanner}`);
      assert.ok(v, `a progress step for ${p}: ${[...run.vertexes.keys()].join(' | ')}`);
      assert.ok(v.completed && !v.error && !v.cached);
    }
    assert.ok(
      run.vertexes.get(`[internal] load metadata for ${scanner}`)?.completed,
      'the scanner resolved once',
    );
    const again = await scanBuild({
      dockerfile: twoPlatformDockerfile,
      files: { 'ctx-marker.txt': 'context file\n' },
      platforms: ['linux/amd64', 'linux/arm64'],
      sbom: { params: { mode: 'ok' } },
      root,
    });
    assert.equal(again.error, undefined, String(again.error));
    assert.equal(again.vertexes.get(`[linux/arm64] generating sbom using ${scanner}`)?.cached, true);
    assert.deepEqual(
      again.builds!.map((b) => b.sbom),
      run.builds!.map((b) => b.sbom),
    );
  });
});

describe('an SBOM scan of a single-platform build', () => {
  const dockerfile = 'FROM localhost:5000/busybox:1.35\nRUN echo one > /one\n';

  test('without the scan ARGs there are no extras', async () => {
    const r = await scanBuild({ dockerfile, platforms: ['linux/amd64'], sbom: {} });
    assert.equal(r.error, undefined, String(r.error));
    const sbom = r.builds![0]!.sbom!;
    assert.deepEqual(
      sbom.map((a) => a.path),
      ['sbom.spdx.json'],
    );
    const core = predicateOf(sbom[0]);
    assert.equal(core.scan.env.extras, '');
    assert.ok(fileNames(core).includes('/one'));
    assert.ok(r.vertexes.has(`[linux/amd64] generating sbom using ${scanner}`));
  });

  const failures: [string, Partial<SBOMRequest>, RegExp][] = [
    [
      'a generator image that does not exist',
      { generator: 'localhost:5000/polyarch-test/no-such-scanner:1' },
      /^generating sbom using localhost:5000\/polyarch-test\/no-such-scanner:1 for linux\/amd64: .*(not found|unknown).* \(name a scanner image this host can pull with --attest type=sbom,generator=IMAGE\)$/i,
    ],
    [
      'a generator that exits non-zero',
      { params: { mode: 'fail' } },
      /^generating sbom using localhost:5000\/polyarch-test\/sbom-scanner:1 for linux\/amd64: process .* did not complete successfully: exit code: 3$/,
    ],
    [
      'a generator that writes nothing',
      { params: { mode: 'empty' } },
      /^generating sbom using localhost:5000\/polyarch-test\/sbom-scanner:1 for linux\/amd64: the scanner wrote no in-toto statement to \/run\/out$/,
    ],
    [
      'a generator that writes invalid JSON',
      { params: { mode: 'invalid' } },
      /^generating sbom using localhost:5000\/polyarch-test\/sbom-scanner:1 for linux\/amd64: sbom\.spdx\.json: cannot decode in-toto statement: /,
    ],
  ];
  for (const [what, sbom, message] of failures) {
    test(`${what} fails the build with one message naming the generator and the platform`, async () => {
      const r = await scanBuild({ dockerfile, platforms: ['linux/amd64'], sbom });
      assert.ok(r.error instanceof Error, 'the build failed');
      assert.match(r.error.message, message);
      assert.equal(r.error.message.split('\n').length, 1, 'one line');
      if (sbom.generator) {
        const ran = [...r.vertexes.values()].filter((v) => v.name.includes('RUN') && v.started);
        assert.deepEqual(ran, [], 'a missing generator stops the build before any step runs');
      }
    });
  }
});

describe('an SBOM request on a BuildKit node', () => {
  test('is refused at plan time with one error naming the node, before connecting to it', async () => {
    const worker = await openWorker({ root: freshDir(), env: process.env });
    try {
      const node = buildkitNode({
        builder: 'mixed',
        name: 'mixed1',
        configured: [],
        endpoint: { driver: 'remote', address: 'unix:///nonexistent/buildkitd.sock' },
        worker,
        env: process.env,
      });
      const dir = contextDir({ Dockerfile: 'FROM localhost:5000/busybox:1.35\n' });
      const request = solveRequest(dir, 'FROM localhost:5000/busybox:1.35\n', ['linux/amd64'], {});
      await assert.rejects(
        node.plan(request, {
          progress: new Progress({ write() {} }),
          signal: new AbortController().signal,
          env: process.env,
        }),
        (err: Error) =>
          err instanceof UnsupportedError &&
          /^SBOM attestations are not supported yet on builder mixed, node mixed1 \(unix:\/\/\/nonexistent\/buildkitd\.sock\)/.test(
            err.message,
          ),
      );
      node.close();
    } finally {
      await worker.close();
    }
  });
});

describe('polyarch build --sbom, end to end', () => {
  const repo = 'polyarch-test/sbom-e2e';
  const tag = `run-${process.pid}`;
  let index: {
    manifests: {
      digest: string;
      platform?: { architecture: string };
      annotations?: Record<string, string>;
    }[];
  };
  before(async () => {
    const dir = contextDir({ Dockerfile: twoPlatformDockerfile, 'ctx-marker.txt': 'context file\n' });
    const r = await polyarch(
      [
        'build',
        '--platform',
        'linux/amd64,linux/arm64',
        `--sbom=generator=${scanner},mode=ok`,
        '-t',
        `localhost:5000/${repo}:${tag}`,
        '--push',
        dir,
      ],
      { root: freshDir() },
    );
    assert.equal(r.code, 0, r.stderr);
    index = JSON.parse(
      skopeo(['inspect', '--raw', '--tls-verify=false', `docker://localhost:5000/${repo}:${tag}`]),
    );
  });

  test("the registry holds each platform's statements in its attestation manifest, about that image", async () => {
    const images = index.manifests.filter((m) => m.platform?.architecture !== 'unknown');
    assert.equal(images.length, 2);
    for (const image of images) {
      const att = index.manifests.find(
        (m) => m.annotations?.['vnd.docker.reference.digest'] === image.digest,
      );
      assert.ok(att, `an attestation manifest for ${image.platform?.architecture}`);
      const manifest = JSON.parse(
        skopeo(['inspect', '--raw', '--tls-verify=false', `docker://localhost:5000/${repo}@${att.digest}`]),
      ) as { layers: { digest: string; annotations?: Record<string, string> }[] };
      const spdx = manifest.layers.filter(
        (l) => l.annotations?.['in-toto.io/predicate-type'] === 'https://spdx.dev/Document',
      );
      assert.equal(spdx.length, 3, 'core, context and the tools stage');
      const res = await fetch(`http://localhost:5000/v2/${repo}/blobs/${spdx[0]!.digest}`);
      assert.equal(res.status, 200);
      const statement = (await res.json()) as {
        subject: { digest: { sha256: string } }[];
        predicate: TestPredicate;
      };
      assert.equal(
        `sha256:${statement.subject[0]!.digest.sha256}`,
        image.digest,
        'the statement is about its image',
      );
      const arch = image.platform!.architecture;
      assert.ok(fileNames(statement.predicate).includes(`/only-${arch}`));
      assert.equal(
        statement.predicate.scan.env.mode,
        'ok',
        '--sbom attributes reach the scanner as BUILDKIT_SCAN_*',
      );
      // as BuildKit supplements the core SBOM: each file names the top-most layer holding it
      const layers = (
        JSON.parse(
          skopeo([
            'inspect',
            '--raw',
            '--tls-verify=false',
            `docker://localhost:5000/${repo}@${image.digest}`,
          ]),
        ) as { layers: { digest: string }[] }
      ).layers.map((l) => l.digest);
      const comment = (name: string) => statement.predicate.files.find((f) => f.fileName === name)?.comment;
      assert.equal(comment('/bin/busybox'), `layerID: ${layers[0]}`, 'from the base layer');
      assert.equal(comment('/from-tools'), `layerID: ${layers[1]}`, 'from the COPY');
      assert.equal(comment(`/only-${arch}`), `layerID: ${layers[2]}`, 'from the RUN');
      assert.deepEqual(statement.predicate.creationInfo?.creators, ['Tool: polyarch-v0.1.0']);
      const extra = await fetch(`http://localhost:5000/v2/${repo}/blobs/${spdx[1]!.digest}`);
      const context = (await extra.json()) as { predicate: TestPredicate };
      assert.ok(
        context.predicate.files.every((f) => f.comment === undefined),
        'only the core SBOM is supplemented',
      );
    }
  });

  test('imagetools inspect --format reads .SBOM per platform', async () => {
    const r = await polyarch([
      'imagetools',
      'inspect',
      `localhost:5000/${repo}:${tag}`,
      '--format',
      '{{json .SBOM}}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const sbom = JSON.parse(r.stdout) as Record<
      string,
      { SPDX: TestPredicate; AdditionalSPDXs: TestPredicate[] }
    >;
    assert.deepEqual(Object.keys(sbom).sort(), ['linux/amd64', 'linux/arm64']);
    assert.ok(fileNames(sbom['linux/arm64']!.SPDX).includes('/only-arm64'));
    assert.deepEqual(
      sbom['linux/arm64']!.AdditionalSPDXs.map((p) => p.name),
      ['sbom-context', 'sbom-tools'],
    );
  });
  test('a failing generator fails the build with one line naming it and the platform; nothing is pushed', async () => {
    const dir = contextDir({ Dockerfile: 'FROM localhost:5000/busybox:1.35\nRUN echo one > /one\n' });
    const failing = `localhost:5000/${repo}:failing-${process.pid}`;
    const r = await polyarch(
      [
        'build',
        '--platform',
        'linux/arm64',
        `--sbom=generator=${scanner},mode=fail`,
        '-t',
        failing,
        '--push',
        dir,
      ],
      { root: freshDir() },
    );
    assert.equal(r.code, 1);
    const last = r.stderr.trim().split('\n').at(-1)!;
    assert.match(
      last,
      /^ERROR: failed to build: generating sbom using localhost:5000\/polyarch-test\/sbom-scanner:1 for linux\/arm64: process "\/bin\/sh \/scan.sh" did not complete successfully: exit code: 3$/,
    );
    assert.throws(
      () => skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${failing}`]),
      /manifest unknown|not found/i,
    );
  });
});
