/**
 * Golden tests of the Dockerfile conversion (graph/convert): a Dockerfile and its build options
 * → the op graph (each vertex: op, inputs, progress name) and the image history and config.
 *
 * Each case is one file in test/golden/convert/: a header of options, the Dockerfile, and the
 * expected graph. Base images come from a fixed in-memory table (no registry), so the output
 * depends on the conversion alone. After a deliberate change, rewrite the files with
 * `POLYARCH_UPDATE_GOLDEN=1 node scripts/run-tests.mjs convert-golden` and review the diff.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { readDockerfile } from '../../src/dockerfile/index.js';
import { type ConvertOptions, convertDockerfile, type ResolvedImage } from '../../src/graph/convert.js';
import type { Vertex } from '../../src/graph/ops.js';
import type { Digest } from '../../src/oci/digest.js';
import type { ImageConfig, Platform } from '../../src/oci/types.js';
import { formatPlatform, parsePlatform } from '../../src/platforms/index.js';

const dir = new URL('../../../test/golden/convert/', import.meta.url).pathname;
const update = process.env.POLYARCH_UPDATE_GOLDEN === '1';

/** The base images the cases may name, per platform: a config and, optionally, triggers. */
const images: Record<string, { env?: string[]; cmd?: string[]; onbuild?: string[]; layers?: number }> = {
  'localhost:5000/busybox:1.35': {
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    cmd: ['sh'],
  },
  'localhost:5000/golang:1.23': {
    env: [
      'PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'GOPATH=/go',
    ],
  },
  'localhost:5000/onbuild:1': {
    env: ['PATH=/bin'],
    onbuild: ['COPY --from=build /out/ /app/', 'RUN echo triggered', 'WORKDIR /app'],
  },
  'localhost:5000/empty:1': { layers: 0 },
};

const short = (s: string) => s.replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/g, 'sha256:$1');

async function resolveImage(ref: string, platform: Platform): Promise<ResolvedImage> {
  const name = ref.includes('/') ? ref : `localhost:5000/${ref}`;
  const img = images[name];
  if (!img) throw new Error(`${ref}: not found`);
  const p = formatPlatform(platform);
  const digest = `sha256:${createHash('sha256').update(`${name} ${p}`).digest('hex')}`;
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      ...(img.env ? { Env: img.env } : {}),
      ...(img.cmd ? { Cmd: img.cmd } : {}),
      ...(img.onbuild ? { OnBuild: img.onbuild } : {}),
    },
    rootfs: { type: 'layers', diff_ids: Array.from({ length: img.layers ?? 1 }, () => digest as Digest) },
    history: [{ created_by: `base ${name}` }],
  };
  return {
    pinned: `${name}@${digest}`,
    manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest as Digest, size: 1 },
    config,
    origin: 'registry',
  };
}

/** Vertices in dependency order, each once, numbered. */
function render(target: Vertex): string {
  const ids = new Map<Vertex, string>();
  const lines: string[] = [];
  const visit = (v: Vertex): string => {
    const known = ids.get(v);
    if (known) return known;
    const inputs = v.inputs.map(visit);
    const id = `v${ids.size + 1}`;
    ids.set(v, id);
    const { type, ...rest } = v.op as { type: string };
    lines.push(
      `${id} ${type}${inputs.length ? ` <- ${inputs.join(' ')}` : ''}${v.hidden ? ' (hidden)' : ''}`,
    );
    lines.push(`   name: ${v.name}`);
    if (v.location) lines.push(`   at: ${v.location.file}:${v.location.startLine}-${v.location.endLine}`);
    if (Object.keys(rest).length) lines.push(`   op: ${JSON.stringify(rest)}`);
    return id;
  };
  visit(target);
  return short(lines.join('\n'));
}

interface Case {
  options: Map<string, string[]>;
  dockerfile: string;
  expected: string;
  header: string;
}

function parseCase(text: string): Case {
  const [header = '', rest = ''] = text.split('\n-- Dockerfile --\n');
  const [dockerfile = '', expected = ''] = rest.split('\n-- result --\n');
  const options = new Map<string, string[]>();
  for (const line of header.split('\n')) {
    const m = /^(\w[\w-]*):\s*(.*)$/.exec(line);
    if (m) options.set(m[1]!, [...(options.get(m[1]!) ?? []), m[2]!]);
  }
  return { options, dockerfile: `${dockerfile}\n`, expected, header };
}

async function convert(c: Case): Promise<string> {
  const one = (k: string) => c.options.get(k)?.[0];
  const platforms = (one('platforms') ?? 'linux/amd64').split(',').map((p) => parsePlatform(p));
  const buildPlatform = parsePlatform('linux/amd64');
  const buildArgs = new Map(
    (c.options.get('build-arg') ?? []).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
  );
  const context: Vertex = {
    op: { type: 'context', name: 'context', dir: '/ctx' },
    inputs: [],
    name: 'context',
  };
  const out: string[] = [];
  for (const targetPlatform of platforms) {
    const opts: ConvertOptions = {
      dockerfile: readDockerfile(c.dockerfile, { file: 'Dockerfile' }),
      targetPlatform,
      buildPlatform,
      buildArgs,
      ...(one('target') ? { target: one('target')! } : {}),
      multiPlatform: platforms.length > 1,
      context,
      resolveImage,
      network: 'default',
      extraHosts: [],
      labels: Object.fromEntries((c.options.get('label') ?? []).map((l) => l.split('='))),
    };
    let text: string;
    try {
      const r = await convertDockerfile(opts);
      text = [
        render(r.vertex),
        'history:',
        ...r.history.map((h) => `   ${JSON.stringify(h.entry)}${h.step ? ` (layer of ${h.step.name})` : ''}`),
        `image: ${JSON.stringify(r.image)}`,
      ].join('\n');
    } catch (err) {
      text = `error: ${(err as Error).message}`;
    }
    out.push(`== ${formatPlatform(targetPlatform)}\n${text}`);
  }
  return short(out.join('\n'));
}

describe('Dockerfile conversion (golden)', () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  test('there are cases', () => assert.ok(files.length >= 8, `${files.length} cases in ${dir}`));
  for (const f of files) {
    test(f.replace(/\.txt$/, ''), async () => {
      const path = `${dir}${f}`;
      const c = parseCase(readFileSync(path, 'utf8'));
      const actual = await convert(c);
      if (update) {
        writeFileSync(
          path,
          `${c.header}\n-- Dockerfile --\n${c.dockerfile.trimEnd()}\n-- result --\n${actual}\n`,
        );
        return;
      }
      assert.equal(actual, c.expected.trimEnd());
    });
  }
});

describe('base images', () => {
  const dockerfile = 'FROM golang:1.23 AS a\nRUN true\nFROM busybox:1.35\nCOPY --from=a /x /x\n';
  const optsWith = (resolve: ConvertOptions['resolveImage']): ConvertOptions => ({
    dockerfile: readDockerfile(dockerfile, { file: 'Dockerfile' }),
    targetPlatform: parsePlatform('linux/arm64'),
    buildPlatform: parsePlatform('linux/amd64'),
    buildArgs: new Map(),
    multiPlatform: false,
    context: { op: { type: 'context', name: 'context', dir: '/ctx' }, inputs: [], name: 'context' },
    resolveImage: resolve,
    network: 'default',
    extraHosts: [],
    labels: {},
  });

  test("every stage's base is asked for before the first answer comes", async () => {
    const asked: string[] = [];
    let open!: () => void;
    const both = new Promise<void>((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`only ${asked.join(', ')} asked for: bases resolved one at a time`)),
        2000,
      );
      open = () => {
        clearTimeout(timer);
        ok();
      };
    });
    const resolve = async (ref: string, platform: Platform) => {
      if (!asked.includes(ref)) asked.push(ref);
      if (asked.length === 2) open();
      // no base is answered until both were asked for
      await both;
      return resolveImage(ref, platform);
    };
    const r = await convertDockerfile(optsWith(resolve));
    assert.deepEqual(asked, ['golang:1.23', 'busybox:1.35']);
    assert.equal(r.platform.architecture, 'arm64');
  });

  test('when several fail, the first stage in the Dockerfile is the error', async () => {
    const resolve = async (ref: string) => {
      // the second stage's base fails first
      await new Promise((r) => setTimeout(r, ref === 'golang:1.23' ? 30 : 0));
      throw new Error(`${ref}: not found`);
    };
    await assert.rejects(convertDockerfile(optsWith(resolve)), /^Error: golang:1.23: not found$/);
  });
});
