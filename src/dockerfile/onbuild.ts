/**
 * dockerfile/onbuild — ONBUILD trigger text → commands. BuildKit parses each trigger as a
 * one-line Dockerfile; the commands take the location of the FROM line that runs them.
 */
import { DockerfileError } from '../errors.js';
import { parseInstruction } from './instructions/index.js';
import type { Command, Dockerfile, SourceRange } from './instructions/types.js';
import { parseDockerfile } from './parser/index.js';

export function parseTriggers(df: Dockerfile, triggers: readonly string[], at: SourceRange): Command[] {
  const fail = (msg: string) => new DockerfileError({ file: df.file, line: at.startLine, column: 1 }, msg);
  return triggers.map((t) => {
    const r = parseDockerfile(t, { file: df.file });
    if (r.ast.children.length !== 1) throw fail('onbuild trigger should be a single expression');
    const ins = parseInstruction(r.ast.children[0]!, {
      file: df.file,
      lines: df.lines,
      escapeToken: df.escapeToken,
    });
    if (ins.kind === 'FROM') throw fail("FROM isn't allowed as an ONBUILD trigger");
    return { ...ins, location: at };
  });
}
