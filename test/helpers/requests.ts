/**
 * A node's share of a build with every frontend option at its default (no args, labels,
 * secrets, cache …): tests give the Dockerfile and the platforms, and override what they test.
 */
import type { Definition, SolveRequest } from '../../src/driver/types.js';
import type { Platform } from '../../src/platforms/index.js';

export function defaultRequest(
  definition: Definition,
  platforms: readonly Platform[],
  overrides: Partial<SolveRequest> = {},
): SolveRequest {
  return {
    definition,
    namedContexts: new Map(),
    platforms,
    multiPlatform: platforms.length > 1,
    buildArgs: {},
    labels: {},
    network: 'default',
    addHosts: [],
    noCache: false,
    noCacheFilter: [],
    pull: false,
    secrets: [],
    allow: [],
    shmSize: 0,
    ulimits: [],
    ...overrides,
  };
}
