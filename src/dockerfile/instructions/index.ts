/** dockerfile/instructions — typed instructions and stages; see parse.ts and types.ts. */
export * from './expand.js';
export * from './mount.js';
export type { InstructionContext } from './parse.js';
export { getComment, instructionNames, parseInstruction, parseInstructions } from './parse.js';
export { suggest, withSuggestion } from './suggest.js';
export * from './types.js';
