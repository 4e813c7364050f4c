/**
 * api — polyarch's public TypeScript API: what the CLI calls, usable without it.
 *
 *     import { listImages, pull, runBuild, runImage } from 'polyarch';
 *     const { digest } = await runBuild(ctx, { ...options, platforms, tags: ['app'] });
 *     const code = await runImage(ctx, { image: 'app', platform, args: [], env: [], … });
 *     await pull({ env: process.env, cwd: process.cwd() }, { image: 'alpine', platforms: 'all' });
 *
 * Every command of the CLI is one function here (the CLI only parses flags and prints):
 * build and run, images (pull, push, tag, removeImages, listImages), imagetools
 * (inspectImage, createImage), the build cache (diskUsage, prune), builders (createBuilder,
 * listBuilders, useBuilder, removeBuilders …) and registry credentials (login, logout).
 *
 * Lower layers are importable too (`polyarch/dist/src/…`), but only what is exported here is
 * meant to stay stable: those entry points, the Dockerfile frontend, platforms and
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
export * from './auth.js';
export * from './build.js';
export * from './builders.js';
export * from './call.js';
export type { PolyarchContext } from './context.js';
export * from './emulators.js';
export * from './images.js';
export * from './imagetools.js';
export * from './progress.js';
export { processArgs, type RunContext, type RunOptions, runImage } from './run.js';
export * from './store.js';
