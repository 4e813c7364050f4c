/**
 * api — polyarch's public TypeScript API: what the CLI calls, usable without it.
 *
 *     import { runBuild, runImage } from 'polyarch';
 *     const { digest } = await runBuild(ctx, { ...options, platforms, tags: ['app'] });
 *     const code = await runImage(ctx, { image: 'app', platform, args: [], env: [], … });
 *
 * Lower layers are importable too (`polyarch/dist/src/…`), but only what is exported here is
 * meant to stay stable: the build and run entry points, the Dockerfile frontend, platforms and
 * references, the progress event model, and the error classes with their codes.
 */

export { type Dockerfile, planBuild, readDockerfile } from '../dockerfile/index.js';
export * from '../errors.js';
export {
  formatPlatform,
  type Platform,
  parsePlatform,
  parsePlatformList,
  platformMatcher,
} from '../platforms/index.js';
export { familiarString, formatReference, parseImageReference, type Reference } from '../reference/index.js';
export { polyarchVersion } from '../version.js';
export * from './build.js';
export * from './call.js';
export * from './progress.js';
export { processArgs, type RunContext, type RunOptions, runImage } from './run.js';
