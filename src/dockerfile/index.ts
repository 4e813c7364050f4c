/**
 * dockerfile — the Dockerfile frontend: `shell/` (words and `$VAR` expansion) → `parser/`
 * (bytes → positioned tree) → `instructions/` (typed instructions and stages) → `stages`
 * (what to build for one platform) and `outline` (the `--call` subrequests).
 *
 *     const df = readDockerfile(text, { file: 'Dockerfile' });
 *     const plan = planBuild(df, { targetPlatform, buildPlatform, buildArgs, target });
 */
import { DockerfileError } from '../errors.js';
import { parseInstructions } from './instructions/parse.js';
import type { Dockerfile } from './instructions/types.js';
import { parseDockerfile } from './parser/parser.js';

export * from './excerpt.js';
export * from './instructions/index.js';
export * from './lint.js';
export * from './onbuild.js';
export * from './outline.js';
export { dumpNode, type Node, type ParseResult, parseDockerfile } from './parser/index.js';
export { type EnvGetter, ShellError, ShellLex } from './shell/lex.js';
export * from './stages.js';

/** Parses a Dockerfile into stages and global ARGs; an empty file is an error, as in BuildKit. */
export function readDockerfile(source: string | Uint8Array, options: { file?: string } = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  if (source.length === 0) {
    throw new DockerfileError({ file, line: 1, column: 1 }, 'the Dockerfile cannot be empty');
  }
  return parseInstructions(parseDockerfile(source, { file }));
}
