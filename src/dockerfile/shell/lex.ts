/**
 * dockerfile/shell/lex — shell word splitting and `$VAR` expansion with BuildKit's rules
 * (moby/buildkit frontend/dockerfile/shell/lex.go is the reference, rune for rune).
 *
 *     const lex = new ShellLex();                 // escape token `\` (or '`' from the directive)
 *     lex.processWord('he${X:-y}', env).result    → 'hey' when X is unset
 *     lex.processWord('a "b c"', env).words       → ['a', 'b c']
 *
 * Supported: `'…'`, `"…"`, the escape token, `$X`, `${X}`, `${X:-w}`, `${X-w}`, `${X:+w}`,
 * `${X+w}`, `${X:?msg}`, `${X?msg}`, `${X#p}`, `${X##p}`, `${X%p}`, `${X%%p}`, `${X/p/r}`,
 * `${X//p/r}`; positional and special parameters (`$1`, `$@`, …) expand to nothing.
 * Every lookup is reported back as matched or unmatched, which the outline and the unused
 * build-arg checks need.
 *
 * This module is a leaf of the frontend: it imports nothing from the parser or instructions.
 */
import { PolyarchError } from '../../errors.js';
import { goQuote } from './quote.js';

/** Variables visible to an expansion. `get` returns undefined for an unset variable. */
export interface EnvGetter {
  get(key: string): string | undefined;
}

/** A variable expansion or quoting error (`syntax error: missing '}'`, `X: is not allowed to be unset`). */
export class ShellError extends PolyarchError {
  /** the message without the `failed to process "…"` prefix */
  readonly detail: string;
  constructor(message: string, detail: string) {
    super('DOCKERFILE', message);
    this.name = 'ShellError';
    this.detail = detail;
  }
}

export interface ProcessResult {
  /** the word with quotes removed and variables expanded */
  result: string;
  /** the same, split into words on unquoted white space after expansion */
  words: string[];
  /** variables that were looked up and set */
  matched: Set<string>;
  /** variables that were looked up and not set */
  unmatched: Set<string>;
}

export interface ShellLexOptions {
  /** the escape token: `\` (default) or '`' */
  escapeToken?: string;
  /** keep quote characters in the result */
  rawQuotes?: boolean;
  /** keep escape tokens in the result */
  rawEscapes?: boolean;
  /** treat quote characters as ordinary characters */
  skipProcessQuotes?: boolean;
  /** leave references to unset variables as they were written */
  skipUnsetEnv?: boolean;
}

class LexError extends Error {}

const EOF = null;
type Ch = string | null;

const spaceRe = /^\p{White_Space}$/u;
const letterRe = /^\p{L}$/u;
const digitRe = /^\p{Nd}$/u;

/** Go's unicode.IsSpace. */
export function isSpace(ch: string): boolean {
  return spaceRe.test(ch);
}
function isLetter(ch: string): boolean {
  return letterRe.test(ch);
}
function isDigit(ch: string): boolean {
  return digitRe.test(ch);
}
function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch);
}

class Words {
  word = '';
  words: string[] = [];
  inWord = false;
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  getWords(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** One pass over one word; holds the scanner position and the lookups made. */
class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    private readonly lex: Required<ShellLexOptions>,
    word: string,
    private readonly env: EnvGetter,
  ) {
    this.chars = Array.from(word);
    // text/scanner ignores a byte order mark at the start of its input
    if (this.chars[0] === '\uFEFF') this.pos = 1;
    this.rawEscapes = lex.rawEscapes;
  }

  private peek(): Ch {
    return this.pos < this.chars.length ? this.chars[this.pos]! : EOF;
  }
  private next(): Ch {
    return this.pos < this.chars.length ? this.chars[this.pos++]! : EOF;
  }

  processStopOn(stopChar: Ch, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      const { escapeToken, skipProcessQuotes } = this.lex;
      while (this.peek() !== EOF) {
        let ch = this.peek()!;
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return { result, words: words.getWords() };
        }
        if (ch === '$') {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp);
        } else if (!skipProcessQuotes && (ch === "'" || ch === '"')) {
          const tmp = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          ch = this.next()!;
          if (ch === escapeToken) {
            if (this.rawEscapes) {
              words.addRawChar(ch);
              result += ch;
            }
            const escaped = this.next();
            if (escaped === EOF) break;
            ch = escaped;
            words.addRawChar(ch);
          } else {
            words.addChar(ch);
          }
          result += ch;
        }
      }
      if (stopChar !== EOF) {
        throw new LexError(`unexpected end of statement while looking for matching ${stopChar}`);
      }
      return { result, words: words.getWords() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  /** processStopOn's result; `missing` is the error when the word ends before `stopChar`. */
  private processUntil(stopChar: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stopChar, rawEscapes).result;
    } catch (err) {
      if (this.peek() === EOF) throw new LexError(missing);
      throw err;
    }
  }

  private processSingleQuote(): string {
    let result = '';
    const open = this.next()!;
    if (this.lex.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF)
        throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.lex.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.next()!;
    if (this.lex.rawQuotes) result += open;
    const { escapeToken } = this.lex;
    for (;;) {
      const p = this.peek();
      if (p === EOF)
        throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        if (this.lex.rawQuotes) result += p;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === escapeToken) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === EOF) continue; // an escape at the end of the word is dropped
        if (after === '"' || after === '$' || after === escapeToken) ch = this.next()!;
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next(); // '$'
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.lex.skipUnsetEnv) return `$${name}`;
      return value ?? '';
    }
    this.next(); // '{'
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch ?? '\uFFFD';
    let nullIsUnset = false;
    switch (ch) {
      case '}': {
        const value = this.getEnv(name);
        if (value === undefined && this.lex.skipUnsetEnv) return `\${${name}}`;
        return value ?? '';
      }
      case '/':
        return this.processReplace(name);
      case ':':
        nullIsUnset = true;
        ch = this.next();
        chs += ch ?? '\uFFFD';
        break;
      case '+':
      case '-':
      case '?':
      case '#':
      case '%':
        break;
      default:
        throw new LexError(`unsupported modifier (${chs}) in substitution`);
    }
    // Go falls through from ':' into this body whatever the next character is
    const rawEscapes = ch === '#' || ch === '%';
    const word = this.processUntil('}', rawEscapes, "syntax error: missing '}'");
    const value = this.getEnv(name);
    const set = value !== undefined;
    if (this.lex.skipUnsetEnv && !set) return `\${${name}${chs}${word}}`;
    const empty = !set || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return empty ? word : value!;
      case '+':
        return empty ? '' : word;
      case '?':
        if (!set) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') {
          throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        }
        return value;
      case '%':
      case '#': {
        let greedy = false;
        let pattern = word;
        if (pattern.length > 0 && pattern[0] === ch) {
          greedy = true;
          pattern = pattern.slice(1);
        }
        return ch === '%'
          ? trimSuffix(pattern, value ?? '', greedy)
          : trimPrefix(pattern, value ?? '', greedy);
      }
      default:
        throw new LexError(`unsupported modifier (${chs}) in substitution`);
    }
  }

  private processReplace(name: string): string {
    const replaceAll = this.peek() === '/';
    if (replaceAll) this.next();
    const pattern = this.processUntil('/', true, "syntax error: missing '/' in $" + '{}');
    const replacement = this.processUntil('}', true, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && this.lex.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    let re: RegExp;
    try {
      re = shellPatternToRegExp(pattern, true, false);
    } catch (err) {
      throw new LexError(`invalid pattern (${pattern}) in substitution: ${(err as Error).message}`);
    }
    const v = value ?? '';
    if (replaceAll) return goReplaceAll(v, re, replacement);
    const m = re.exec(v);
    if (!m) return v;
    return v.slice(0, m.index) + replacement + v.slice(m.index + m[0].length);
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek()!;
      if (name === '' && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && isSpecialParam(ch)) {
        this.next();
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private getEnv(name: string): string | undefined {
    const v = this.env.get(name);
    if (v === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return v;
  }
}

/** Converts a shell wildcard pattern (`*`, `?`, `\` escapes; no brackets) to a RegExp. */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  // Go's `.` does not match a newline and nothing else is excluded
  const any = '[^\\n]';
  const star = greedy ? `${any}*` : `${any}*?`;
  for (let i = 0; i < chars.length; i++) {
    let tok = chars[i]!;
    switch (tok) {
      case '*':
        out += star;
        continue;
      case '?':
        out += any;
        continue;
      case '\\': {
        const peek = chars[i + 1];
        // `}` and `/` are escaped only to get them past ${}; the escape is not part of the pattern
        if (peek === '}' || peek === '/') continue;
        out += '\\';
        i++;
        tok = chars[i] ?? '\uFFFD';
        if (tok !== '*' && tok !== '?' && tok !== '\\') throw new Error(`invalid escape '\\${tok}'`);
        break;
      }
      case '[':
      case ']':
      case '{':
      case '}':
      case '.':
      case '+':
      case '(':
      case ')':
      case '|':
      case '^':
      case '$':
        out += '\\';
        break;
    }
    out += tok;
  }
  return new RegExp(out, 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  let re: RegExp;
  try {
    re = shellPatternToRegExp(pattern, greedy, true);
  } catch (err) {
    throw new LexError(`invalid pattern (${pattern}) in substitution: ${(err as Error).message}`);
  }
  const m = re.exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

/** Reverses a pattern without reversing its escapes: `a\*c` → `c\*a`. */
export function reversePattern(pattern: string): string {
  const r = Array.from(pattern);
  const out: string[] = new Array(r.length);
  const last = r.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = r[i]!;
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = r[i + 1]!;
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // regular expressions cannot find the shortest rightmost match, so search reversed
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

/** Go's Regexp.ReplaceAllString: `$name`/`${name}` templates, empty matches after a match skipped. */
function goReplaceAll(src: string, re: RegExp, template: string): string {
  const g = new RegExp(re.source, 'gu');
  let out = '';
  let last = 0;
  let prevEnd = -1;
  for (;;) {
    const m = g.exec(src);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      // step over the empty match (by one code point)
      const cp = src.codePointAt(start);
      g.lastIndex = start + (cp !== undefined && cp > 0xffff ? 2 : 1);
      if (start === prevEnd) continue;
    }
    out += src.slice(last, start) + expandTemplate(template, m[0]);
    last = end;
    prevEnd = end;
    if (start >= src.length) break;
  }
  return out + src.slice(last);
}

/** Go's Regexp.Expand for a pattern with no capture groups. */
function expandTemplate(template: string, whole: string): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = template.slice(i + 1);
    if (rest.startsWith('$')) {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let len = 0;
    if (rest.startsWith('{')) {
      const close = rest.indexOf('}');
      const inner = close > 0 ? rest.slice(1, close) : '';
      if (close > 0 && /^\w+$/.test(inner)) {
        name = inner;
        len = close + 1;
      }
    } else {
      const m = /^\w+/.exec(rest);
      if (m) {
        name = m[0];
        len = m[0].length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    if (/^\d+$/.test(name) && Number(name) === 0) out += whole;
    i += len;
  }
  return out;
}

/**
 * Word splitting and variable expansion with one set of options. Not safe for concurrent use
 * of the same word; a lexer itself holds no state between calls.
 */
export class ShellLex {
  readonly options: Required<ShellLexOptions>;
  constructor(options: ShellLexOptions = {}) {
    this.options = {
      escapeToken: options.escapeToken ?? '\\',
      rawQuotes: options.rawQuotes ?? false,
      rawEscapes: options.rawEscapes ?? false,
      skipProcessQuotes: options.skipProcessQuotes ?? false,
      skipUnsetEnv: options.skipUnsetEnv ?? false,
    };
  }

  /** The same lexer with some options changed. */
  with(options: ShellLexOptions): ShellLex {
    return new ShellLex({ ...this.options, ...options });
  }

  /** Expands `word`; reports the variables used (ProcessWordWithMatches). */
  processWord(word: string, env: EnvGetter = emptyEnv): ProcessResult {
    const sw = new ShellWord(this.options, word, env);
    try {
      const { result, words } = sw.processStopOn(EOF, this.options.rawEscapes);
      return { result, words, matched: sw.matched, unmatched: sw.unmatched };
    } catch (err) {
      if (err instanceof LexError) {
        throw new ShellError(`failed to process ${goQuote(word)}: ${err.message}`, err.message);
      }
      throw err;
    }
  }

  /** Expands `word` and splits it into words (ProcessWords). */
  processWords(word: string, env: EnvGetter = emptyEnv): string[] {
    return this.processWord(word, env).words;
  }
}

export const emptyEnv: EnvGetter = { get: () => undefined };

/** An EnvGetter over `KEY=value` strings, the last one winning (BuildKit's BuildEnvs). */
export function envFromList(list: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 0) m.set(e, '');
    else m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}
