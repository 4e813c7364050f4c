/**
 * driver/buildkit/cache — `--cache-to` and `--cache-from` on a BuildKit node: handed to the
 * node's own cache export and import (Control.Solve's CacheOptions), attributes as the user gave
 * them, as buildx hands them; what the node's BuildKit refuses comes back as its error.
 * `type=local` needs the session to serve a content store, which polyarch's does not: refused.
 * The docker driver solves one platform at a time, so a cache export other than `inline` (one
 * ref written by every platform's solve, the last one winning) takes one platform only.
 */
import type { CacheSpec } from '../../build/options.js';
import type { CacheEntry } from '../../buildkit/wire.js';
import { BuildError, messageOf, UnsupportedError } from '../../errors.js';
import type { SolveRequest } from '../types.js';

export interface NodeCacheOptions {
  /** Control.Solve's CacheOptions */
  solve: { cacheExports?: CacheEntry[]; cacheImports?: CacheEntry[] };
  /**
   * the imports again as the Dockerfile frontend reads them (its own solves import the cache):
   * `cache-imports` (JSON of the entries) and the older `cache-from` (the registry refs), as
   * BuildKit's client sets them
   */
  frontendAttrs: Record<string, string>;
}

function entry(spec: CacheSpec, flag: string, node: string): CacheEntry {
  if (spec.type === 'local') {
    throw new UnsupportedError(
      `${flag} type=local is not supported on BuildKit node ${node}: it needs a content store served by the session, which polyarch does not serve yet; use type=registry or type=inline`,
    );
  }
  return { type: spec.type, attrs: { ...spec.attrs } };
}

/** The CacheOptions of a solve of `platforms` platforms on `node` (`perPlatform`: the docker driver). */
export function nodeCacheOptions(
  request: SolveRequest,
  node: { name: string; perPlatform: boolean },
): NodeCacheOptions {
  const c = request.nodeCache;
  if (!c) return { solve: {}, frontendAttrs: {} };
  const exports = c.exports.map((s) => entry(s, '--cache-to', node.name));
  const imports = c.imports.map((s) => entry(s, '--cache-from', node.name));
  const shared = exports.find((e) => e.type !== 'inline');
  if (shared && node.perPlatform && request.platforms.length > 1) {
    throw new UnsupportedError(
      `--cache-to type=${shared.type} on node ${node.name} (driver docker) takes one platform: the engine builds each platform in a solve of its own, and each would overwrite the cache; use type=inline, or one --platform per build`,
    );
  }
  const refs = imports.filter((e) => e.type === 'registry' && e.attrs.ref).map((e) => e.attrs.ref!);
  return {
    solve: {
      ...(exports.length ? { cacheExports: exports } : {}),
      ...(imports.length ? { cacheImports: imports } : {}),
    },
    frontendAttrs: {
      ...(imports.length
        ? { 'cache-imports': JSON.stringify(imports.map((e) => ({ Type: e.type, Attrs: e.attrs }))) }
        : {}),
      ...(refs.length ? { 'cache-from': refs.join(',') } : {}),
    },
  };
}

/**
 * A node's refusal of a cache type said with the node and the flag (BuildKit says only
 * `unknown cache exporter: "registry"`); other errors as they are.
 */
export function cacheRefusal(err: unknown, node: string): unknown {
  const m = /unknown cache (exporter|importer): "?([\w-]+)"?/.exec(messageOf(err));
  if (!m) return err;
  const [flag, verb] = m[1] === 'exporter' ? ['--cache-to', 'export'] : ['--cache-from', 'import'];
  return new BuildError(
    `${flag} type=${m[2]}: the BuildKit of node ${node} cannot ${verb} caches of that type (${messageOf(err)})`,
    { cause: err },
  );
}
