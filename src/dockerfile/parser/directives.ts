/**
 * dockerfile/parser/directives — parser directives (`# syntax=`, `# escape=`, `# check=`):
 * comment lines at the very top of the file, each at most once; the first line that is not
 * one ends the directive block (BuildKit's DirectiveParser).
 */

export const validDirectives = ['syntax', 'escape', 'check'] as const;
export type DirectiveName = (typeof validDirectives)[number];

export interface Directive {
  name: DirectiveName;
  value: string;
  /** 1-based line */
  line: number;
}

// Go RE2's \s is [\t\n\f\r ]; `.` does not match a newline
const directiveRe = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/;
const leadingSpace = /^\p{White_Space}+/u;

/** Reads directives line by line until the first line that is not one. */
export class DirectiveParser {
  private line = 0;
  private done = false;
  private readonly seen = new Set<string>();

  constructor(
    private readonly comment = '#',
    startLine = 0,
  ) {
    this.line = startLine;
  }

  /** The directive on `line`, or undefined; throws on a repeated directive. */
  parseLine(text: string): Directive | undefined {
    this.line++;
    if (this.done) return undefined;
    if (!text.startsWith(this.comment)) {
      this.done = true;
      return undefined;
    }
    const rest = text.slice(this.comment.length).replace(leadingSpace, '');
    const m = directiveRe.exec(rest);
    if (!m) {
      this.done = true;
      return undefined;
    }
    const name = m[1]!.toLowerCase();
    if (!(validDirectives as readonly string[]).includes(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new Error(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    return { name: name as DirectiveName, value: m[2]!, line: this.line };
  }
}
