/**
 * fileop/chmod — `COPY --chmod`: an octal mode (`0755`, up to 07777) or, as newer BuildKit
 * accepts, a symbolic one (`u+x,g-w`, `go=u-w`, `a+X`) with chmod(1)'s grammar as BSD's
 * setmode implements it (BuildKit uses a Go port, tonistiigi/dchapes-mode). Pure.
 *
 *     const spec = parseChmod('u=rwx,go=rx');
 *     applyChmod(spec, 0o644, false)   → 0o755
 *     applyChmod(parseChmod('a+X'), 0o644, true) → 0o755   (X: only dirs or already-executable)
 *
 * Modes here are the 12 permission bits (07777: setuid, setgid, sticky, rwx×3). Symbolic
 * clauses without a `who` (`+w`) are masked by a umask, which is 0 as in BuildKit's copy.
 */
import { InvalidArgumentError } from '../errors.js';

const isUID = 0o4000;
const isGID = 0o2000;
const isTXT = 0o1000;
const iRWXU = 0o700;
const iRWXG = 0o070;
const iRWXO = 0o007;
const iRUSR = 0o400;
const iRGRP = 0o040;
const iROTH = 0o004;
const standardBits = isUID | isGID | iRWXU | iRWXG | iRWXO;

const cmd2Clear = 1;
const cmd2Set = 2;
const cmd2GBits = 4;
const cmd2OBits = 8;
const cmd2UBits = 16;

interface BitCmd {
  cmd: string;
  cmd2: number;
  bits: number;
}

export type ChmodSpec =
  | { readonly kind: 'octal'; readonly text: string; readonly mode: number }
  | { readonly kind: 'symbolic'; readonly text: string; readonly cmds: readonly BitCmd[] };

function nonOctal(s: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `invalid chmod parameter: '${s}'. it should be octal string and between 0 and 07777`,
  );
}

/**
 * Parses a `--chmod` value the way dockerfile2llb validates it: octal first (errors quote
 * the value), then symbolic.
 */
export function parseChmod(s: string, umask = 0): ChmodSpec {
  if (/^[0-7]+$/.test(s)) {
    const v = Number.parseInt(s, 8);
    if (v > 0o7777) throw nonOctal(s);
    return { kind: 'octal', text: s, mode: v };
  }
  if (s !== '' && s[0]! >= '0' && s[0]! <= '9') throw nonOctal(s);
  const cmds = parseSymbolic(s, umask);
  if (cmds === undefined) throw new InvalidArgumentError(`invalid chmod parameter: '${s}': invalid syntax`);
  return { kind: 'symbolic', text: s, cmds };
}

function addCmd(cmds: BitCmd[], opIn: string, who: number, oparg: number | string, mask: number): void {
  let op = opIn;
  const c: BitCmd = { cmd: '', cmd2: 0, bits: 0 };
  if (op === '=') {
    // `=` clears the who bits, then sets like `+`
    cmds.push({ cmd: '-', cmd2: 0, bits: who !== 0 ? who : standardBits });
    op = '+';
  }
  switch (op) {
    case '+':
    case '-':
    case 'X':
      c.cmd = op;
      c.bits = (who !== 0 ? who : mask) & (oparg as number);
      break;
    case 'u':
    case 'g':
    case 'o':
      c.cmd = op;
      if (who !== 0) {
        if (who & iRUSR) c.cmd2 |= cmd2UBits;
        if (who & iRGRP) c.cmd2 |= cmd2GBits;
        if (who & iROTH) c.cmd2 |= cmd2OBits;
        c.bits = 0xffff;
      } else {
        c.cmd2 = cmd2UBits | cmd2GBits | cmd2OBits;
        c.bits = mask;
      }
      switch (oparg) {
        case '+':
          c.cmd2 |= cmd2Set;
          break;
        case '-':
          c.cmd2 |= cmd2Clear;
          break;
        case '=':
          c.cmd2 |= cmd2Set | cmd2Clear;
          break;
      }
      break;
  }
  cmds.push(c);
}

/** BSD setmode's clause parser; undefined on a syntax error. */
function parseSymbolic(input: string, umask: number): BitCmd[] | undefined {
  if (input === '') return undefined;
  const mask = ~umask & 0xffff;
  const cmds: BitCmd[] = [];
  let s = input;
  let equalOpDone = false;
  for (;;) {
    let who = 0;
    for (;;) {
      const c = s[0];
      if (c === 'a') who |= standardBits;
      else if (c === 'u') who |= isUID | iRWXU;
      else if (c === 'g') who |= isGID | iRWXG;
      else if (c === 'o') who |= iRWXO;
      else break;
      s = s.slice(1);
    }
    for (;;) {
      // getop
      if (s === '') return undefined;
      const op = s[0]!;
      s = s.slice(1);
      if (op === '=') equalOpDone = false;
      else if (op !== '+' && op !== '-') return undefined;
      who &= ~isTXT;
      let perm = 0;
      let permX = 0;
      permLoop: for (; ; s = s.slice(1)) {
        const b = s.length > 0 ? s[0]! : '';
        switch (b) {
          case 'r':
            perm |= 0o444;
            break;
          case 's':
            if (who === 0 || (who & ~iRWXO) !== 0) perm |= isUID | isGID;
            break;
          case 't':
            if (who === 0 || (who & ~iRWXO) !== 0) {
              who |= isTXT;
              perm |= isTXT;
            }
            break;
          case 'w':
            perm |= 0o222;
            break;
          case 'X':
            if (op === '+') permX = 0o111;
            break;
          case 'x':
            perm |= 0o111;
            break;
          case 'u':
          case 'g':
          case 'o':
            if (perm !== 0) {
              addCmd(cmds, op, who, perm, mask);
              perm = 0;
            }
            if (op === '=') equalOpDone = true;
            if (permX !== 0) {
              addCmd(cmds, 'X', who, permX, mask);
              permX = 0;
            }
            addCmd(cmds, b, who, op, mask);
            break;
          default:
            if (perm !== 0 || (op === '=' && !equalOpDone)) {
              if (op === '=') equalOpDone = true;
              addCmd(cmds, op, who, perm, mask);
              perm = 0;
            }
            if (permX !== 0) {
              addCmd(cmds, 'X', who, permX, mask);
              permX = 0;
            }
            break permLoop;
        }
      }
      if (s === '') return compress(cmds);
      if (s[0] !== ',') continue; // another op for the same who
      s = s.slice(1);
      break;
    }
  }
}

/** setmode's compress(): consecutive +, - and X commands folded into at most one of each. */
function compress(cmds: BitCmd[]): BitCmd[] {
  const out: BitCmd[] = [];
  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i]!;
    if (!'+-X'.includes(c.cmd)) {
      out.push(c);
      continue;
    }
    let setbits = 0;
    let clrbits = 0;
    let xbits = 0;
    for (; i < cmds.length; i++) {
      const d = cmds[i]!;
      if (d.cmd === '-') {
        clrbits |= d.bits;
        setbits &= ~d.bits;
        xbits &= ~d.bits;
      } else if (d.cmd === '+') {
        setbits |= d.bits;
        clrbits &= ~d.bits;
        xbits &= ~d.bits;
      } else if (d.cmd === 'X') {
        xbits |= d.bits & ~setbits;
      } else {
        i--;
        break;
      }
    }
    if (clrbits !== 0) out.push({ cmd: '-', cmd2: 0, bits: clrbits });
    if (setbits !== 0) out.push({ cmd: '+', cmd2: 0, bits: setbits });
    if (xbits !== 0) out.push({ cmd: 'X', cmd2: 0, bits: xbits });
  }
  return out;
}

/**
 * The new permission bits (07777) of an entry with permission bits `mode` after `--chmod`.
 * An octal mode replaces them; a symbolic one edits them (`X` adds execute only to
 * directories and to files that are already executable by someone).
 */
export function applyChmod(spec: ChmodSpec, mode: number, isDir: boolean): number {
  if (spec.kind === 'octal') return spec.mode & 0o7777;
  const omode = mode & 0o7777;
  let newmode = omode;
  const common = (c: BitCmd, value: number) => {
    if (c.cmd2 & cmd2Clear) {
      const clrval = c.cmd2 & cmd2Set ? iRWXO : value;
      if (c.cmd2 & cmd2UBits) newmode &= ~((clrval << 6) & c.bits);
      if (c.cmd2 & cmd2GBits) newmode &= ~((clrval << 3) & c.bits);
      if (c.cmd2 & cmd2OBits) newmode &= ~(clrval & c.bits);
    }
    if (c.cmd2 & cmd2Set) {
      if (c.cmd2 & cmd2UBits) newmode |= (value << 6) & c.bits;
      if (c.cmd2 & cmd2GBits) newmode |= (value << 3) & c.bits;
      if (c.cmd2 & cmd2OBits) newmode |= value & c.bits;
    }
  };
  for (const c of spec.cmds) {
    switch (c.cmd) {
      case 'u':
        common(c, (newmode & iRWXU) >> 6);
        break;
      case 'g':
        common(c, (newmode & iRWXG) >> 3);
        break;
      case 'o':
        common(c, newmode & iRWXO);
        break;
      case '+':
        newmode |= c.bits;
        break;
      case '-':
        newmode &= ~c.bits;
        break;
      case 'X':
        if (omode & 0o111 || isDir) newmode |= c.bits;
        break;
    }
  }
  return newmode & 0o7777;
}
