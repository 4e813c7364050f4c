/**
 * dockerfile/parser/heredoc — recognising `<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF` words
 * (BuildKit's ParseHeredoc and heredocsFromLine).
 */
import { ShellLex } from '../shell/lex.js';
import type { Heredoc } from './node.js';

const reHeredoc = /^(\d*)<<(-?)([^<]*)$/;
const reLeadingTabs = /^\t+/gm;

const lexPlain = new ShellLex({ skipUnsetEnv: true });
const lexRawQuotes = new ShellLex({ skipUnsetEnv: true, rawQuotes: true });
const lexLine = new ShellLex({ rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });

/** The heredoc a word opens, or undefined when it is not one. */
export function parseHeredoc(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = reHeredoc.exec(word);
  if (!m) return undefined;
  const fd = m[1] === '' ? 0 : Number.parseInt(m[1]!, 10);
  const chomp = m[2] === '-';
  const rest = m[3]!;
  if (rest.length === 0) return undefined;
  // lex with and without quotes: if they differ, part of the word was quoted and the body
  // is not expanded
  const words = lexPlain.processWords(rest);
  if (words.length !== 1) return undefined;
  const wordsRaw = lexRawQuotes.processWords(rest);
  if (wordsRaw.length !== words.length) {
    throw new Error(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  const count = (s: string) => (s.match(/['"]/g) ?? []).length;
  const name = words[0]!;
  return { name, fileDescriptor: fd, expand: count(name) === count(wordsRaw[0]!), chomp };
}

/** The heredocs opened on a line, in order. */
export function heredocsFromLine(line: string): Heredoc[] {
  let words: string[];
  try {
    words = lexLine.processWords(line);
  } catch {
    words = [];
  }
  const docs: Heredoc[] = [];
  for (const w of words) {
    const h = parseHeredoc(w);
    if (h) docs.push({ ...h, content: '' });
  }
  return docs;
}

/** Removes leading tabs from every line (`<<-`). */
export function chompHeredocContent(src: string): string {
  return src.replace(reLeadingTabs, '');
}
