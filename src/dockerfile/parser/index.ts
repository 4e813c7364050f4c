/** dockerfile/parser — bytes → positioned parse tree; see parser.ts. */
export * from './directives.js';
export * from './heredoc.js';
export { extractBuilderFlags, parseWords, splitCommand } from './line-parsers.js';
export * from './node.js';
export * from './parser.js';
