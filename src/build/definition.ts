/**
 * build/definition — the Dockerfile a build uses: read from `-f`, stdin or the context, parsed,
 * and checked with BuildKit's build checks, shown as BuildKit's first step
 * (`[internal] load build definition from Dockerfile`) with the checks' warnings on it.
 */
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import {
  type LintWarning,
  lintDockerfile,
  parseCheckDirective,
  readDockerfile,
} from '../dockerfile/index.js';
import type { Definition } from '../driver/types.js';
import { DockerfileError, InvalidArgumentError, UnsupportedError } from '../errors.js';
import { isTarHeader } from '../fileop/archive.js';
import type { Platform } from '../platforms/index.js';
import { type Progress, startInternalStep } from '../progress/writer.js';
import type { BuildOptions } from './options.js';

/** Reads the Dockerfile the options name: `-f` (relative to the working directory), stdin, or PATH/Dockerfile. */
export async function loadDockerfileSource(
  ctx: { cwd: string; stdin: NodeJS.ReadableStream },
  o: Pick<BuildOptions, 'file' | 'contextPath'>,
): Promise<{ name: string; path?: string; source: Buffer }> {
  if (o.file === '-' || (o.contextPath === '-' && o.file === undefined)) {
    const source = await buffer(ctx.stdin);
    if (source.length >= 512 && isTarHeader(source.subarray(0, 512))) {
      throw new UnsupportedError(
        'a build context as a tar archive on stdin is not supported yet: unpack it and build the directory',
      );
    }
    return { name: 'Dockerfile', source };
  }
  if (/^[a-z]+:\/\//.test(o.contextPath) && o.file === undefined) {
    throw new InvalidArgumentError(
      `reading a Dockerfile from a remote context (${o.contextPath}) is not supported`,
    );
  }
  const path = o.file
    ? isAbsolute(o.file)
      ? o.file
      : resolve(ctx.cwd, o.file)
    : join(resolve(ctx.cwd, o.contextPath), 'Dockerfile');
  try {
    return { name: o.file ? basename(o.file) : 'Dockerfile', path, source: await readFile(path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new InvalidArgumentError(`failed to read dockerfile: open ${path}: no such file or directory`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** A build check warning as BuildKit words it: `FromAsCasing: 'as' and 'FROM' … (line 1)`. */
export function warningLine(w: LintWarning): string {
  return `${w.rule.name}: ${w.message} (line ${w.location.startLine})`;
}

export interface LoadDefinitionOptions {
  cwd: string;
  stdin: NodeJS.ReadableStream;
  progress: Progress;
  /** the platform the checks evaluate `$BUILDPLATFORM` with */
  buildPlatform: Platform;
}

/**
 * Reads, parses and checks the Dockerfile, reporting the checks' warnings on the definition
 * step; a `# check=error=true` Dockerfile with warnings is an error.
 */
export async function loadDefinition(o: BuildOptions, opts: LoadDefinitionOptions): Promise<Definition> {
  const step = startInternalStep(opts.progress, '[internal] load build definition from Dockerfile');
  const { name, path, source } = await loadDockerfileSource(opts, o);
  const transfer = step.status('transferring dockerfile:');
  transfer.update(source.length);
  transfer.done();
  const parsed = readDockerfile(source, { file: name });
  const warnings = lintDockerfile(parsed, {
    targetPlatform: o.platforms[0] ?? opts.buildPlatform,
    buildPlatform: opts.buildPlatform,
    buildArgs: o.buildArgs,
    ...(o.target ? { target: o.target } : {}),
  });
  for (const w of warnings) step.warn(warningLine(w), [w.rule.description], w.rule.url);
  if (warnings.length && parseCheckDirective(parsed.check, parsed.file).error) {
    throw new DockerfileError(
      { file: parsed.file, line: warnings[0]!.location.startLine, column: 1 },
      `lint violation found for rules: ${[...new Set(warnings.map((w) => w.rule.name))].join(', ')}`,
    );
  }
  step.complete();
  return { name, ...(path ? { path } : {}), source, parsed };
}
