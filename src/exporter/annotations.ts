/**
 * exporter/annotations — where each `--annotation` (and `-o …,annotation*.KEY=VALUE`) lands,
 * with BuildKit's rules: a type names the object that gets it (`manifest`, the default;
 * `index`; `manifest-descriptor`, the manifest's entry in the index; `index-descriptor`, the
 * index's entry in an OCI layout's index.json), a `[platform]` narrows manifest annotations to
 * one platform's image, and index annotations need an index (several platforms). Pure.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Platform } from '../oci/types.js';
import { formatPlatform, parsePlatform, samePlatform } from '../platforms/index.js';

/** One annotation as `--annotation` gives it: `[type,…][platform]:key=value`. */
export interface Annotation {
  /** empty means the command's default: `manifest` for a build, `index` for imagetools create */
  types: AnnotationType[];
  platform?: Platform;
  key: string;
  value: string;
}

export const annotationTypes = ['manifest', 'index', 'manifest-descriptor', 'index-descriptor'] as const;
export type AnnotationType = (typeof annotationTypes)[number];

/** The annotations of every object of one export. */
export interface AnnotationSet {
  index: Record<string, string>;
  indexDescriptor: Record<string, string>;
  manifest(p: Platform): Record<string, string>;
  manifestDescriptor(p: Platform): Record<string, string>;
}

/**
 * `--annotation [TYPE[,TYPE…]][[PLATFORM]]:KEY=VALUE` (buildx's syntax, for build and
 * `imagetools create` alike); no type leaves `types` empty for the caller's default.
 */
export function parseAnnotation(s: string, host?: Platform): Annotation {
  const eq = s.indexOf('=');
  if (eq <= 0)
    throw new InvalidArgumentError(`invalid annotation "${s}": expected [type[platform]:]key=value`);
  const m = /^(?:([a-z-]+(?:,[a-z-]+)*)?(?:\[([^\]]+)\])?:)?(.+)$/.exec(s.slice(0, eq));
  if (!m) throw new InvalidArgumentError(`invalid annotation "${s}": expected [type[platform]:]key=value`);
  const types: AnnotationType[] = [];
  for (const t of m[1]?.split(',') ?? []) {
    checkType(t, `annotation "${s}"`);
    types.push(t);
  }
  const a: Annotation = { types, key: m[3]!, value: s.slice(eq + 1) };
  if (m[2]) a.platform = parsePlatform(m[2], host);
  return a;
}

function checkType(t: string, where: string): asserts t is AnnotationType {
  if (!(annotationTypes as readonly string[]).includes(t)) {
    throw new InvalidArgumentError(
      `unknown annotation type "${t}" in ${where}: expected one of ${annotationTypes.join(', ')}`,
    );
  }
}

/**
 * An exporter attribute `annotation[-TYPE][[PLATFORM]].KEY=VALUE` as an annotation; undefined
 * for any other attribute.
 */
export function annotationFromAttr(attr: string, value: string): Annotation | undefined {
  const m = /^annotation(?:-([a-z-]+))?(?:\[([^\]]*)\])?\.(.+)$/.exec(attr);
  if (!m) return undefined;
  const type = m[1];
  if (type !== undefined) checkType(type, `"${attr}"`);
  const a: Annotation = { types: type ? [type] : [], key: m[3]!, value };
  if (m[2]) a.platform = parsePlatform(m[2]);
  return a;
}

/** Groups the annotations by the objects they go to; checks they fit a build of `platforms`. */
export function resolveAnnotations(
  list: readonly Annotation[],
  platforms: readonly Platform[],
): AnnotationSet {
  const index: Record<string, string> = {};
  const indexDescriptor: Record<string, string> = {};
  const manifest: { platform?: Platform; key: string; value: string }[] = [];
  const manifestDescriptor: { platform?: Platform; key: string; value: string }[] = [];
  for (const a of list) {
    const types: AnnotationType[] = a.types.length ? a.types : ['manifest'];
    for (const t of types) {
      switch (t) {
        case 'index':
        case 'index-descriptor':
          if (a.platform) {
            throw new InvalidArgumentError(
              `annotation "${a.key}": a platform ([${formatPlatform(a.platform)}]) applies to manifest annotations only, not to ${t}`,
            );
          }
          if (platforms.length < 2) {
            throw new InvalidArgumentError(
              `annotation "${a.key}": index annotations not supported for single platform export (build several platforms, or annotate the manifest)`,
            );
          }
          (t === 'index' ? index : indexDescriptor)[a.key] = a.value;
          break;
        case 'manifest':
        case 'manifest-descriptor': {
          if (a.platform && !platforms.some((p) => samePlatform(p, a.platform!))) {
            throw new InvalidArgumentError(
              `annotation "${a.key}": platform ${formatPlatform(a.platform)} is not built (building ${platforms.map(formatPlatform).join(', ')})`,
            );
          }
          if (t === 'manifest-descriptor' && platforms.length < 2) {
            throw new InvalidArgumentError(
              `annotation "${a.key}": manifest-descriptor annotations need an index: build several platforms`,
            );
          }
          const entry = { ...(a.platform ? { platform: a.platform } : {}), key: a.key, value: a.value };
          (t === 'manifest' ? manifest : manifestDescriptor).push(entry);
          break;
        }
      }
    }
  }
  const forPlatform = (entries: typeof manifest) => (p: Platform) => {
    const out: Record<string, string> = {};
    for (const e of entries) if (!e.platform || samePlatform(e.platform, p)) out[e.key] = e.value;
    return out;
  };
  return {
    index,
    indexDescriptor,
    manifest: forPlatform(manifest),
    manifestDescriptor: forPlatform(manifestDescriptor),
  };
}

/** A stable text for an annotation list: outputs with equal keys share one assembled image. */
export function annotationsKey(list: readonly Annotation[]): string {
  return JSON.stringify(
    list.map((a) => [a.types, a.platform ? formatPlatform(a.platform) : '', a.key, a.value]),
  );
}
