/**
 * fileop — BuildKit's COPY/ADD file operations on real directories: destination rules,
 * `--chown` (names resolved in the destination's `/etc/passwd` and `/etc/group`), `--chmod`
 * (octal and symbolic), `--exclude`, `--parents`, symlinks kept inside both roots, hard links,
 * xattrs; ADD's archives and URLs. Sources come from `context/` (`BuildContext.source` or
 * `dirSource(root)` for `--from`).
 */
export { type AddOptions, add, type ExtractTar, type ExtractTarOptions, validateAdd } from './add.js';
export { type Decompressed, isTarArchive, isTarHeader, openDecompressed } from './archive.js';
export { applyChmod, type ChmodSpec, parseChmod } from './chmod.js';
export { type ChownSpec, type IdOrName, type Owner, parseChown, resolveChown, type UserDb } from './chown.js';
export { asSource, type CopyOptions, type CopyStats, copy, effectiveDest } from './copy.js';
export {
  contentDispositionFilename,
  type FetchedUrl,
  type FetchUrlOptions,
  fetchUrl,
  isGitSource,
  isHttpSource,
  parseChecksum,
  urlFilename,
} from './fetch.js';
export { asDirDest, destParentToCreate, isDirDest, normalizeDest } from './paths.js';
export {
  type CopyReuse,
  type CopyReuseOptions,
  type CopyReuseSession,
  openCopyReuse,
} from './reuse.js';
export { resolveChownIn } from './users.js';
