/**
 * dockerfile/parser/parser — bytes → positioned parse tree (BuildKit's parser.Parse):
 * directives at the top, comments, line continuations (with comment and blank lines inside
 * them), heredoc bodies, and the empty-continuation-line warning.
 *
 *     const { ast } = parseDockerfile(text, { file: 'Dockerfile' });
 *     ast.children[0]  → { value: 'FROM', next: { value: 'busybox' }, startLine: 1, … }
 *
 * Errors are DockerfileErrors naming the file, line and column.
 */
import { DockerfileError } from '../../errors.js';
import { goTrimLeftSpace } from '../shell/quote.js';
import { type Directive, DirectiveParser } from './directives.js';
import { heredocsFromLine } from './heredoc.js';
import { type LineContext, LineError, nodeFromLine } from './line-parsers.js';
import { type Node, newNode } from './node.js';

export interface ParseWarning {
  short: string;
  detail: string;
  url: string;
  /** 1-based line the warning is about */
  line: number;
}

export interface ParseResult {
  /** the root: its children are the instructions */
  ast: Node;
  /** the escape token in force: `\` or '`' */
  escapeToken: string;
  directives: Directive[];
  warnings: ParseWarning[];
  /** the file name used in error messages */
  file: string;
  /** the source lines, for error excerpts */
  lines: string[];
}

export interface ParseOptions {
  /** file name for messages (default `Dockerfile`) */
  file?: string;
}

/** Instructions whose shell/JSON arguments may open heredocs. */
const heredocDirectives = new Set(['add', 'copy', 'run']);
const heredocCompoundDirectives = new Set(['onbuild']);

export const emptyContinuationURL = 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/';

/** Max line length bufio.Scanner accepts in BuildKit. */
const maxLineBytes = 64 * 1024 - 1;

function trimNewline(s: string): string {
  return s.replace(/[\r\n]+$/, '');
}
function isComment(line: string): boolean {
  return goTrimLeftSpace(line).startsWith('#');
}
function isEmptyContinuationLine(line: string): boolean {
  return goTrimLeftSpace(trimNewline(line)).length === 0;
}

/** Lines with their line endings, as BuildKit's scanLines. */
function scanLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const i = text.indexOf('\n', start);
    if (i < 0) {
      if (start < text.length) out.push(text.slice(start));
      return out;
    }
    out.push(text.slice(start, i + 1));
    start = i + 1;
  }
}

function canContainHeredoc(node: Node): boolean {
  let n = node;
  if (heredocCompoundDirectives.has(n.value.toLowerCase()) && n.next && n.next.children.length > 0) {
    n = n.next.children[0]!;
  }
  if (!heredocDirectives.has(n.value.toLowerCase())) return false;
  return !n.attributes.json;
}

class Directives implements LineContext {
  escapeToken = '\\';
  continuation = /([^\\])\\[ \t]*$|^\\[ \t]*$/;
  readonly parser = new DirectiveParser();
  readonly found: Directive[] = [];

  setEscapeToken(s: string): void {
    if (s !== '`' && s !== '\\') throw new LineError(`invalid escape token '${s}' does not match \` or \\`);
    this.escapeToken = s;
    const e = `\\${s}`;
    this.continuation = new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
  }

  /** true when the line was a directive */
  possibleParserDirective(line: string): boolean {
    let d: Directive | undefined;
    try {
      d = this.parser.parseLine(line);
    } catch (err) {
      throw new LineError((err as Error).message);
    }
    if (!d) return false;
    if (d.name === 'escape') this.setEscapeToken(d.value);
    this.found.push(d);
    return true;
  }

  trimContinuation(line: string): { line: string; endOfLine: boolean } {
    if (this.continuation.test(line))
      return { line: line.replace(this.continuation, '$1'), endOfLine: false };
    return { line, endOfLine: true };
  }
}

/** Parses a Dockerfile into BuildKit's parse tree. */
export function parseDockerfile(source: string | Uint8Array, options: ParseOptions = {}): ParseResult {
  const file = options.file ?? 'Dockerfile';
  const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
  const lines = scanLines(text);
  const d = new Directives();
  const root = newNode();
  root.startLine = -1;
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let currentLine = 0;
  let i = 0;

  const fail = (err: unknown, line: number, column = 1): never => {
    throw new DockerfileError({ file, line: Math.max(1, line), column }, (err as Error).message, {
      cause: err,
    });
  };

  const processLine = (raw: string, stripLeft: boolean): { text: string; directive: boolean } => {
    let token = trimNewline(raw);
    if (stripLeft) token = goTrimLeftSpace(token);
    if (Buffer.byteLength(token) > maxLineBytes) {
      throw new LineError(`dockerfile line greater than max allowed size of ${maxLineBytes}`);
    }
    const directive = d.possibleParserDirective(token);
    return { text: isComment(token) ? '' : token, directive };
  };

  while (i < lines.length) {
    let raw = lines[i++]!;
    if (currentLine === 0 && raw.startsWith('\uFEFF')) raw = raw.slice(1);
    if (isComment(raw)) {
      const comment = goTrimLeftSpace(raw.slice(1)).replace(/\p{White_Space}+$/u, '');
      if (comment === '') comments = [];
      else comments.push(comment);
    }
    let first: { text: string; directive: boolean };
    try {
      first = processLine(raw, true);
    } catch (err) {
      return fail(err, currentLine + 1);
    }
    if (first.directive) comments = comments.slice(0, -1);
    currentLine++;
    const startLine = currentLine;
    let { line, endOfLine } = d.trimContinuation(first.text);
    if (endOfLine && line.length === 0) continue;

    let hasEmptyContinuationLine = false;
    while (!endOfLine && i < lines.length) {
      const next = lines[i++]!;
      let cont: { text: string; directive: boolean };
      try {
        cont = processLine(next, false);
      } catch (err) {
        return fail(err, currentLine + 1);
      }
      currentLine++;
      if (isComment(next)) continue; // comment lines inside a continuation are dropped
      if (isEmptyContinuationLine(cont.text)) {
        hasEmptyContinuationLine = true;
        continue;
      }
      const t = d.trimContinuation(cont.text);
      endOfLine = t.endOfLine;
      line += t.line;
    }

    if (hasEmptyContinuationLine) {
      warnings.push({
        short: `Empty continuation line found in: ${line}`,
        detail: 'Empty continuation lines will become errors in a future release',
        url: emptyContinuationURL,
        line: currentLine,
      });
    }

    let child: Node;
    try {
      child = nodeFromLine(line, d, comments);
    } catch (err) {
      return fail(err, startLine);
    }

    if (canContainHeredoc(child) && line.includes('<<')) {
      let heredocs: ReturnType<typeof heredocsFromLine>;
      try {
        heredocs = heredocsFromLine(line);
      } catch (err) {
        return fail(err, startLine);
      }
      for (const heredoc of heredocs) {
        let terminated = false;
        while (i < lines.length) {
          const body = lines[i++]!;
          currentLine++;
          let candidate = trimNewline(body);
          if (heredoc.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === heredoc.name) {
            terminated = true;
            break;
          }
          heredoc.content += body;
        }
        if (!terminated) {
          const col = line.indexOf(`<<`) + 1;
          return fail(new Error(`unterminated heredoc`), startLine, Math.max(1, col));
        }
        child.heredocs.push(heredoc);
      }
    }

    child.startLine = startLine;
    child.endLine = currentLine;
    if (root.startLine < 0) root.startLine = startLine;
    root.endLine = currentLine;
    root.children.push(child);
    comments = [];
  }

  if (root.startLine < 0) return fail(new Error('file with no instructions'), currentLine);

  return {
    ast: root,
    escapeToken: d.escapeToken,
    directives: d.found,
    warnings,
    file,
    lines: lines.map(trimNewline),
  };
}
