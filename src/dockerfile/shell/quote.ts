/**
 * dockerfile/shell/quote — Go's `strconv.Quote`, byte for byte, for the places where BuildKit's
 * output shows Go-quoted strings (the parse-tree dump, `%q` in error messages).
 */

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Go's strconv.Quote: a double-quoted string with Go escapes for non-printable runes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (ch === ' ' || (cp >= 0x21 && cp < 0x7f) || (cp >= 0xa0 && printable.test(ch))) {
      out += ch;
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${hex(cp, 2)}`;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      // a lone surrogate cannot come from valid UTF-8; Go would show U+FFFD
      out += '\\ufffd';
    } else if (cp < 0x10000) {
      out += `\\u${hex(cp, 4)}`;
    } else {
      out += `\\U${hex(cp, 8)}`;
    }
  }
  return `${out}"`;
}

/** Go's `fmt.Sprintf("%q", []string{…})`: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

const leadingSpace = /^\p{White_Space}+/u;
const trailingSpace = /\p{White_Space}+$/u;

/** Go's strings.TrimSpace (Unicode white space, not the BOM that JS's trim also removes). */
export function goTrimSpace(s: string): string {
  return s.replace(leadingSpace, '').replace(trailingSpace, '');
}

/** Go's strings.TrimLeftFunc(s, unicode.IsSpace). */
export function goTrimLeftSpace(s: string): string {
  return s.replace(leadingSpace, '');
}
