/**
 * driver/buildkit/attrs — a node's share of a build as the `dockerfile.v0` frontend's
 * attributes, named as buildx names them (build/opt.go toSolveOpt): `platform`, `filename`,
 * `target`, `build-arg:*`, `label:*`, `no-cache`, `image-resolve-mode`, `force-network-mode`,
 * `add-hosts`, `context:*`, `shm-size`, `ulimit`; and the session directories they name.
 */

import { formatPlatform } from '../../platforms/index.js';
import type { SolveRequest } from '../types.js';

export interface FrontendInput {
  attrs: Record<string, string>;
  /** the session's directories: `context`, `dockerfile` and each named local context */
  dirs: Map<string, string>;
  /** entitlements to ask for (`network.host`, `security.insecure`) */
  entitlements: string[];
}

function ulimitValue(u: SolveRequest['ulimits'][number]): string {
  return `${u.name}=${u.soft}:${u.hard}`;
}

/**
 * The frontend's attributes for `platforms` of `request`; `dockerfileDir` holds the Dockerfile
 * (written there when it came on stdin), `contextDir` the context (an empty one for `build -`).
 */
export function frontendInput(
  request: SolveRequest,
  platforms: SolveRequest['platforms'],
  dirs: { dockerfileDir: string; dockerfileName: string; contextDir: string },
): FrontendInput {
  const attrs: Record<string, string> = {
    filename: dirs.dockerfileName,
    platform: platforms.map(formatPlatform).join(','),
  };
  const sessionDirs = new Map([
    ['context', dirs.contextDir],
    ['dockerfile', dirs.dockerfileDir],
  ]);
  if (request.target) attrs.target = request.target;
  for (const [k, v] of Object.entries(request.buildArgs)) attrs[`build-arg:${k}`] = v;
  if (request.sourceDateEpoch !== undefined)
    attrs['build-arg:SOURCE_DATE_EPOCH'] = String(request.sourceDateEpoch);
  for (const [k, v] of Object.entries(request.labels)) attrs[`label:${k}`] = v;
  if (request.noCache) attrs['no-cache'] = '';
  else if (request.noCacheFilter.length) attrs['no-cache'] = request.noCacheFilter.join(',');
  if (request.pull) attrs['image-resolve-mode'] = 'pull';
  if (request.network !== 'default') attrs['force-network-mode'] = request.network;
  if (request.addHosts.length)
    attrs['add-hosts'] = request.addHosts.map((h) => `${h.host}=${h.ip}`).join(',');
  if (request.shmSize) attrs['shm-size'] = String(request.shmSize);
  if (request.ulimits.length) attrs.ulimit = request.ulimits.map(ulimitValue).join(',');
  for (const [name, source] of request.namedContexts) {
    if (source.kind === 'image') {
      attrs[`context:${name}`] = `docker-image://${source.ref}`;
    } else {
      attrs[`context:${name}`] = `local:${name}`;
      sessionDirs.set(name, source.dir);
    }
  }
  const entitlements = request.allow.filter((a) => a === 'network.host' || a === 'security.insecure');
  return { attrs, dirs: sessionDirs, entitlements };
}
