/**
 * dockerfile/parser/node — the positioned parse tree BuildKit's parser produces, and its
 * s-expression dump (the `result` files of BuildKit's parser tests).
 *
 * A line becomes one Node: `value` is the instruction word as written, `next` chains its
 * arguments, `flags` holds the `--flag=value` words, and `children` holds a nested
 * instruction (ONBUILD). The root Node's children are the instructions.
 */
import { goQuote, goQuoteList, goTrimSpace } from '../shell/quote.js';

/** A here-document attached to RUN/COPY/ADD. */
export interface Heredoc {
  /** the delimiter word, quotes removed */
  name: string;
  /** `3<<EOF` → 3; 0 when not given */
  fileDescriptor: number;
  /** false when any part of the delimiter was quoted: the body is taken literally */
  expand: boolean;
  /** `<<-EOF`: leading tabs are removed from the body and the delimiter line */
  chomp: boolean;
  /** the body, line endings included, without the delimiter line */
  content: string;
}

export interface Node {
  value: string;
  next?: Node;
  children: Node[];
  heredocs: Heredoc[];
  /** `json: true` when the arguments were written as a JSON array */
  attributes: { json?: boolean };
  /** the logical line (continuations joined) the node was parsed from */
  original: string;
  flags: string[];
  /** 1-based first line of the instruction in the file */
  startLine: number;
  /** 1-based last line (continuations and heredoc bodies included) */
  endLine: number;
  /** the comment lines directly above the instruction, `#` and surrounding space removed */
  prevComment: string[];
}

export function newNode(value = '', next?: Node): Node {
  const n: Node = {
    value,
    children: [],
    heredocs: [],
    attributes: {},
    original: '',
    flags: [],
    startLine: 0,
    endLine: 0,
    prevComment: [],
  };
  if (next) n.next = next;
  return n;
}

/** The argument values of a node (ONBUILD's nested instruction flattened), as BuildKit's nodeArgs. */
export function nodeArgs(node: Node): string[] {
  const out: string[] = [];
  for (let n = node; n.next; n = n.next) {
    const arg = n.next;
    if (arg.children.length === 0) out.push(arg.value);
    else if (arg.children.length === 1) {
      out.push(arg.children[0]!.value, ...nodeArgs(arg.children[0]!));
    }
  }
  return out;
}

/** BuildKit's Node.Dump: `(from "ubuntu")`, one line per instruction under the root. */
export function dumpNode(node: Node): string {
  let s = node.value.toLowerCase();
  if (node.flags.length > 0) s += ` ${goQuoteList(node.flags)}`;
  for (const child of node.children) s += `(${dumpNode(child)})\n`;
  for (let n = node.next; n; n = n.next) {
    s += n.children.length > 0 ? ` ${dumpNode(n)}` : ` ${goQuote(n.value)}`;
  }
  return goTrimSpace(s);
}
