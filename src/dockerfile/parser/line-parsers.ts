/**
 * dockerfile/parser/line-parsers — how each instruction's argument text becomes a chain of
 * nodes (BuildKit's line_parsers.go and split_command.go): JSON arrays or shell form,
 * `KEY=value` lists, whitespace-separated words, HEALTHCHECK's type word, ONBUILD's nested
 * instruction, and the leading `--flag` words.
 */

import { isSpace } from '../shell/lex.js';
import { goQuote, goTrimLeftSpace, goTrimSpace } from '../shell/quote.js';
import { type Node, newNode } from './node.js';

/** The state the line parsers need: the escape token in force. */
export interface LineContext {
  escapeToken: string;
}

/** An error in an instruction's text; the parser adds the location. */
export class LineError extends Error {}

export const errNotStringArray = 'when using JSON array syntax, arrays must be comprised of strings only';

// Go: reWhitespace = [\t\v\f\r ]+
const reWhitespace = /[\t\v\f\r ]+/;

type LineParser = (rest: string, ctx: LineContext) => { node?: Node; json?: boolean };

/** Splits on the first run of white space, as Go's regexp Split(s, 2). */
function splitWhitespace2(s: string): string[] {
  const m = reWhitespace.exec(s);
  if (!m) return [s];
  return [s.slice(0, m.index), s.slice(m.index + m[0].length)];
}

/** Splits a line into the instruction word, its `--flags` and the rest (BuildKit's splitCommand). */
export function splitCommand(line: string): { cmd: string; flags: string[]; args: string } {
  const parts = splitWhitespace2(goTrimSpace(line));
  const cmd = parts[0]!;
  let args = '';
  let flags: string[] = [];
  if (parts.length === 2) ({ rest: args, flags } = extractBuilderFlags(parts[1]!));
  return { cmd, flags, args: goTrimSpace(args) };
}

/** Reads the leading `--flag[=value]` words; `--` ends them. */
export function extractBuilderFlags(line: string): { rest: string; flags: string[] } {
  const inSpaces = 0;
  const inWord = 1;
  const inQuote = 2;
  const words: string[] = [];
  let phase = inSpaces;
  let word = '';
  let quote = '';
  let blankOK = false;
  const len = line.length;
  let ch = '';
  for (let pos = 0; pos <= len; pos++) {
    if (pos !== len) ch = line[pos]!;
    if (phase === inSpaces) {
      if (pos === len) break;
      if (isSpace(ch)) continue;
      // only keep going if the next word starts with --
      if (ch !== '-' || pos + 1 === len || line[pos + 1] !== '-') {
        return { rest: line.slice(pos), flags: words };
      }
      phase = inWord;
    }
    if ((phase === inWord || phase === inQuote) && pos === len) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === inWord) {
      if (isSpace(ch)) {
        phase = inSpaces;
        if (word === '--') return { rest: line.slice(pos), flags: words };
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = inQuote;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === len) continue;
        pos++;
        ch = line[pos]!;
      }
      word += ch;
      continue;
    }
    // inQuote
    if (ch === quote) {
      phase = inWord;
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === len) {
        phase = inWord;
        continue;
      }
      pos++;
      ch = line[pos]!;
    }
    word += ch;
  }
  return { rest: '', flags: words };
}

/** Splits on white space keeping quotes and escapes in the words (BuildKit's parseWords). */
export function parseWords(rest: string, ctx: LineContext): string[] {
  const inSpaces = 0;
  const inWord = 1;
  const inQuote = 2;
  const chars = Array.from(rest);
  const len = chars.length;
  const words: string[] = [];
  let phase = inSpaces;
  let quote = '';
  let blankOK = false;
  let sb = '';
  let ch = '';
  for (let pos = 0; pos <= len; pos++) {
    if (pos !== len) ch = chars[pos]!;
    if (phase === inSpaces) {
      if (pos === len) break;
      if (isSpace(ch)) continue;
      phase = inWord;
    }
    if ((phase === inWord || phase === inQuote) && pos === len) {
      if (blankOK || sb.length > 0) words.push(sb);
      break;
    }
    if (phase === inWord) {
      if (isSpace(ch)) {
        phase = inSpaces;
        if (blankOK || sb.length > 0) words.push(sb);
        sb = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = inQuote;
      }
      if (ch === ctx.escapeToken) {
        if (pos + 1 === len) continue; // an escape at the end of the line is dropped
        // unquoted, the escape and the next character are both kept, even a quote
        sb += ch;
        pos++;
        ch = chars[pos]!;
      }
      sb += ch;
      continue;
    }
    // inQuote
    if (ch === quote) phase = inWord;
    // the escape token is special except inside single quotes
    if (ch === ctx.escapeToken && quote !== "'") {
      if (pos + 1 === len) {
        phase = inWord;
        continue;
      }
      pos++;
      sb += ch;
      ch = chars[pos]!;
    }
    sb += ch;
  }
  return words;
}

function keyValueNode(key: string, value: string, sep: string): Node {
  return newNode(key, newNode(value, newNode(sep)));
}

function chain(values: readonly string[]): Node | undefined {
  let head: Node | undefined;
  for (let i = values.length - 1; i >= 0; i--) head = newNode(values[i]!, head);
  return head;
}

/** ENV and LABEL: `KEY value` (legacy) or `KEY=value …`; each pair becomes key, value, separator. */
function parseNameVal(rest: string, key: string, ctx: LineContext): Node | undefined {
  const words = parseWords(rest, ctx);
  if (words.length === 0) return undefined;
  if (!words[0]!.includes('=')) {
    const parts = splitWhitespace2(rest);
    if (parts.length < 2) throw new LineError(`${key} must have two arguments`);
    return keyValueNode(parts[0]!, parts[1]!, '');
  }
  const values: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw new LineError(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
    }
    values.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return chain(values);
}

const parseIgnore: LineParser = () => ({ node: newNode() });

const parseEnv: LineParser = (rest, ctx) => ({ node: parseNameVal(rest, 'ENV', ctx) });
const parseLabel: LineParser = (rest, ctx) => ({ node: parseNameVal(rest, 'LABEL', ctx) });

/** ARG: `name` or `name=value` words. */
const parseNameOrNameVal: LineParser = (rest, ctx) => ({ node: chain(parseWords(rest, ctx)) });

const parseStringsWhitespaceDelimited: LineParser = (rest) => {
  if (rest === '') return {};
  return { node: chain(rest.split(reWhitespace)) };
};

const parseString: LineParser = (rest) => (rest === '' ? {} : { node: newNode(rest) });

class NotJSONArray extends Error {}

/** A JSON array of strings, or NotJSONArray / a JSON syntax error / a non-string element. */
function parseJSON(rest: string): { node?: Node; json: true } {
  const text = goTrimLeftSpace(rest);
  if (!text.startsWith('[')) throw new NotJSONArray('not a JSON array');
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new NotJSONArray('not a JSON array');
  const values: string[] = [];
  for (const v of parsed) {
    if (typeof v !== 'string') throw new LineError(errNotStringArray);
    values.push(v);
  }
  const node = chain(values);
  return node ? { node, json: true } : { json: true };
}

/** A JSON array when it parses as one, otherwise the whole text as one argument (shell form). */
const parseMaybeJSON: LineParser = (rest) => {
  if (rest === '') return {};
  try {
    return parseJSON(rest);
  } catch (err) {
    if (err instanceof LineError) throw err;
    return { node: newNode(rest) };
  }
};

/** A JSON array when it parses as one, otherwise whitespace-separated words. */
const parseMaybeJSONToList: LineParser = (rest, ctx) => {
  try {
    return parseJSON(rest);
  } catch (err) {
    if (err instanceof LineError) throw err;
    return parseStringsWhitespaceDelimited(rest, ctx);
  }
};

/** HEALTHCHECK: a type word (CMD, NONE) and then a command like CMD's. */
const parseHealthConfig: LineParser = (rest, ctx) => {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep]!)) sep++;
  let next = sep;
  while (next < rest.length && isSpace(rest[next]!)) next++;
  if (sep === 0) return {};
  const cmd = parseMaybeJSON(rest.slice(next), ctx);
  const out: { node?: Node; json?: boolean } = { node: newNode(rest.slice(0, sep), cmd.node) };
  if (cmd.json) out.json = true;
  return out;
};

/** ONBUILD: the rest is an instruction of its own. */
const parseSubCommand: LineParser = (rest, ctx) => {
  if (rest === '') return {};
  const child = nodeFromLine(rest, ctx, []);
  const holder = newNode();
  holder.children.push(child);
  return { node: holder };
};

const dispatch: Record<string, LineParser> = {
  add: parseMaybeJSONToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: parseEnv,
  expose: parseStringsWhitespaceDelimited,
  from: parseStringsWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: parseLabel,
  maintainer: parseString,
  onbuild: parseSubCommand,
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};

/** One logical line → one node (BuildKit's newNodeFromLine). Unknown instructions keep no arguments. */
export function nodeFromLine(line: string, ctx: LineContext, comments: string[]): Node {
  const { cmd, flags, args } = splitCommand(line);
  const fn = dispatch[cmd.toLowerCase()] ?? parseIgnore;
  const { node: next, json } = fn(args, ctx);
  const node = newNode(cmd, next);
  node.original = line;
  node.flags = flags;
  if (json) node.attributes.json = true;
  node.prevComment = comments;
  return node;
}
