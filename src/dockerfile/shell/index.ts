/** dockerfile/shell — the word lexer and Go string helpers; see lex.ts. */
export * from './lex.js';
export * from './quote.js';
