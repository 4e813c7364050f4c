/**
 * context/dockerignore — reading `.dockerignore` text into patterns, as moby/patternmatcher's
 * `ignorefile.ReadAll` does (BuildKit uses it for `.dockerignore` and `<Dockerfile>.dockerignore`).
 * Pure: the file is found and read by `load.ts`.
 *
 *     parseDockerignore('# comment\n/build/\n!build/keep.txt\n  *.log  ')
 *       → ['build', '!build/keep.txt', '*.log']
 *
 * Rules: a UTF-8 BOM is dropped; a line starting with `#` is a comment (only at column 0);
 * surrounding whitespace is trimmed and blank lines skipped; `!` marks an exception and may be
 * followed by spaces; each pattern is cleaned like a path and a leading `/` removed, so
 * `/foo/bar`, `./foo/bar` and `foo/bar/` all mean `foo/bar`.
 */
import { cleanPath } from './patternmatcher.js';

export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // bufio.Scanner's ScanLines: split on \n and drop one trailing \r.
  const lines = src.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let line of lines) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern[0] === '!';
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern[0] === '/') pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}
