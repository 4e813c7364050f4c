/**
 * cli/imagetools — `polyarch imagetools inspect|create`, buildx's commands for images in a
 * registry:
 *
 * - `inspect [--raw] [--format json] [--local] NAME` prints buildx's layout (Name, MediaType,
 *   Digest, then Name/MediaType/Platform of each manifest of an index). `--local` reads the
 *   image from the local store instead of its registry (no fallback: a name means one place).
 * - `create -t REF [--append] [--annotation K=V] [--dry-run] SOURCE…` joins images or indexes
 *   into one index, copies what the sources hold into the target repository and pushes it.
 *   A SOURCE may be a bare digest when all references name one repository.
 */
import {
  createImage,
  type ImageInspection,
  type Inspection,
  inspectImage,
  isAttestation,
} from '../api/imagetools.js';
import { InvalidArgumentError } from '../errors.js';
import { isIndexType } from '../oci/mediatypes.js';
import { formatPlatformRaw } from '../platforms/index.js';
import { formatReference, type Reference, withDigest } from '../reference/index.js';
import { tabwrite } from '../tabwriter.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';
import { executeTemplate, goJSONIndent } from './template.js';

/** buildx's human layout of an inspection (printers.go). */
export function formatInspection(ins: Inspection, ref: Reference): string {
  let out = tabwrite(
    `Name:\t${ins.name}\nMediaType:\t${ins.descriptor.mediaType}\nDigest:\t${ins.descriptor.digest}\n`,
  );
  if (!isIndexType(ins.descriptor.mediaType) || !ins.manifests) return out;
  out += tabwrite('\t\nManifests:\t\n');
  let block = '';
  ins.manifests.forEach((m, i) => {
    if (i !== 0) block += '\t\n';
    block += `  Name:\t${formatReference(withDigest(ref, m.digest))}\n`;
    block += `  MediaType:\t${m.mediaType}\n`;
    const p = m.platform;
    if (!p) return;
    block += `  Platform:\t${formatPlatformRaw(p)}\n`;
    if (p['os.version']) block += `  OSVersion:\t${p['os.version']}\n`;
    if (p['os.features']?.length) block += `  OSFeatures:\t${p['os.features'].join(', ')}\n`;
    if (m.urls?.length) block += `  URLs:\t${m.urls.join(', ')}\n`;
    if (m.annotations && Object.keys(m.annotations).length) {
      block += '  Annotations:\t\n';
      out += tabwrite(block);
      block = '';
      const keys = Object.keys(m.annotations).sort();
      out += tabwrite(keys.map((k) => `    ${k}:\t${m.annotations![k]}\n`).join(''));
    }
  });
  return out + tabwrite(block);
}

/** buildx's `{{json .Manifest}}` value: the index with its descriptor, or the manifest's descriptor. */
function manifestJSON(ins: Inspection): object {
  if (!ins.manifests) return ins.descriptor;
  const index = JSON.parse(ins.raw.toString('utf8')) as {
    schemaVersion: number;
    mediaType?: string;
    annotations?: object;
  };
  return {
    schemaVersion: index.schemaVersion,
    ...(index.mediaType ? { mediaType: index.mediaType } : {}),
    digest: ins.descriptor.digest,
    size: ins.descriptor.size,
    manifests: ins.manifests,
    ...(index.annotations ? { annotations: index.annotations } : {}),
  };
}

/** buildx's `{{json .Image}}` value: the image config, or the configs by platform when there are several. */
function imageJSON(ins: ImageInspection): object | undefined {
  const values = Object.values(ins.configs ?? {});
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : ins.configs;
}

export const runInspect: CommandRun = async (ctx, args, flags) => {
  const arg = args[0]!;
  const format = flags.string('format');
  if (flags.bool('raw') && format !== undefined)
    throw new InvalidArgumentError('--format and --raw cannot be used together');
  const f = format?.trim();
  const ins = await inspectImage(apiContext(ctx), {
    image: arg,
    local: flags.bool('local'),
    configs: f === 'json' || (f !== undefined && /\.Image\b|\{\{\s*json\s+\.\s*\}\}/.test(f)),
    attestations: f !== undefined && /\.(Provenance|SBOM)\b/.test(f),
  });
  if (flags.bool('raw')) {
    ctx.stdout.write(ins.raw);
    return 0;
  }
  if (f === undefined || /^\{\{\s*\.Manifest\s*\}\}$/.test(f)) {
    ctx.stdout.write(formatInspection(ins, ins.ref));
    return 0;
  }
  const input = templateInput(arg, ins);
  if (f === 'json') {
    ctx.stdout.write(`${goJSONIndent({ name: input.Name, manifest: input.Manifest, image: input.Image })}\n`);
    return 0;
  }
  ctx.stdout.write(
    executeTemplate(format!, input, platformCount(ins) > 1 ? 'imagetools.tplInputs' : 'imagetools.tplInput'),
  );
  return 0;
};

/** The images of an inspection that are platforms (attestation manifests are not). */
function platformCount(ins: Inspection): number {
  return ins.manifests ? ins.manifests.filter((m) => !isAttestation(m)).length : 1;
}

/**
 * buildx's template input: Name, Manifest, Image, Provenance and SBOM — per platform when the
 * index has several, else the one value. Provenance and SBOM are decoded as Go's `any`, so
 * their keys print sorted.
 */
function templateInput(name: string, ins: ImageInspection): Record<string, unknown> {
  const many = platformCount(ins) > 1;
  const one = <T>(m: Record<string, T> | undefined): unknown =>
    many ? sortDeep(m ?? {}) : sortDeep(Object.values(m ?? {})[0] ?? {});
  const input: Record<string, unknown> = { Name: name, Manifest: manifestJSON(ins) };
  const image = imageJSON(ins);
  if (image) input.Image = image;
  input.Provenance = one(ins.attestations?.provenance);
  input.SBOM = one(ins.attestations?.sbom);
  return input;
}

/** A value decoded into Go's `any`: every object's keys in sorted order. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
  );
}

export const runCreate: CommandRun = async (ctx, args, flags) => {
  const dryRun = flags.bool('dry-run');
  const start = Date.now();
  const combined = await createImage(apiContext(ctx), {
    sources: args,
    tags: flags.list('tag'),
    annotations: flags.list('annotation'),
    append: flags.bool('append'),
    dryRun,
    onEvent: (e) => {
      if (e.type === 'start' && !dryRun && e.tags.length)
        ctx.stderr.write(`#1 [internal] pushing ${e.tags.join(', ')}\n`);
      else if (e.type === 'manifest') ctx.stderr.write(`#1 pushing ${e.descriptor.digest} to ${e.ref}\n`);
    },
  });
  if (dryRun) {
    ctx.stdout.write(`${combined.bytes.toString('utf8')}\n`);
    return 0;
  }
  ctx.stderr.write(`#1 DONE ${((Date.now() - start) / 1000).toFixed(1)}s\n`);
  return 0;
};
