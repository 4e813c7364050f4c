/**
 * context — the build context and the sources COPY/ADD read from: `.dockerignore` parsing and
 * matching (moby/patternmatcher semantics), the filtered view of a context directory (read on
 * demand, never held whole) and the filtered walk that sends one to BuildKit, source selection
 * (wildcards, `--exclude`, `--parents`, symlinks kept inside the root) and the content
 * checksums that go into COPY/ADD cache keys, with a persistent stat cache (a line file read
 * as a stream) so that a rebuild only rehashes changed files.
 */
export { type ChecksumOptions, checksumSources, entryHeader } from './checksum.js';
export { parseDockerignore } from './dockerignore.js';
export { comparePreorder, escapePath, LineReader, LineWriter, unescapePath } from './linefile.js';
export {
  type BuildContext,
  type ContextInput,
  findIgnoreFile,
  type HashStats,
  type LoadContextOptions,
  loadContext,
  loadContextInput,
  parseContextArg,
} from './load.js';
export {
  BadPatternError,
  cleanPath,
  containsWildcards,
  emptyMatchInfo,
  exceptionsMayMatchUnder,
  goMatch,
  type MatchInfo,
  Pattern,
  PatternMatcher,
} from './patternmatcher.js';
export {
  type SelectedMatch,
  type SelectedSource,
  type SelectOptions,
  selectSources,
  sourceNotFound,
  splitParents,
  splitWildcards,
  type TreeItem,
  walkMatch,
} from './select.js';
export {
  childPath,
  compareNames,
  dirSource,
  type EntryType,
  entryFromStats,
  entryTypeOf,
  hashFile,
  hostPath,
  permBits,
  resolveInRoot,
  type SourceEntry,
  type SourceFS,
} from './source.js';
export { StatCache, type StatKey, safeToPersist } from './statcache.js';
export { type ContextView, contextView } from './view.js';
