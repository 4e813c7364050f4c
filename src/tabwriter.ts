/**
 * tabwriter — Go's text/tabwriter (left-aligned), which docker and buildx print their
 * tables and key/value blocks with: a cell ends at a tab; the cells of a column are padded to
 * the widest one of the run of consecutive lines that have that column, plus `padding`, and
 * at least `minwidth`. The text after a line's last tab is not padded. With `padchar: '\t'`
 * (buildx's du and prune) a column's width is rounded up to a multiple of `tabwidth` and
 * cells are padded with tabs.
 */

export interface TabwriterOptions {
  minwidth?: number;
  padding?: number;
  /** ' ' (default) or '\t' */
  padchar?: ' ' | '\t';
  /** with `padchar: '\t'`: the width of a tab (default 8) */
  tabwidth?: number;
}

/** Formats `text` (lines ending in `\n`) as a flushed Go tabwriter would. */
export function tabwrite(text: string, opts: TabwriterOptions = {}): string {
  const minwidth = opts.minwidth ?? 0;
  const padding = opts.padding ?? 1;
  const tabwidth = opts.tabwidth ?? 8;
  const pad =
    opts.padchar === '\t'
      ? (w: number, used: number) =>
          '\t'.repeat(Math.ceil((Math.ceil(w / tabwidth) * tabwidth - used) / tabwidth))
      : (w: number, used: number) => ' '.repeat(Math.max(0, w - used));
  const lines = text.split('\n');
  const tail = lines.pop()!;
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  const width = (s: string) => [...s].length;
  let out = '';
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const line = cells[i]!;
      line.forEach((c, j) => {
        out += c;
        if (j < widths.length && j < line.length - 1) out += pad(widths[j]!, width(c));
      });
      out += '\n';
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    let start = line0;
    for (let t = line0; t < line1; t++) {
      if (column >= cells[t]!.length - 1) continue;
      writeLines(start, t);
      start = t;
      let w = minwidth;
      for (; t < line1; t++) {
        if (column >= cells[t]!.length - 1) break;
        w = Math.max(w, width(cells[t]![column]!) + padding);
      }
      widths.push(w);
      format(start, t);
      widths.pop();
      start = t;
    }
    writeLines(start, line1);
  };
  format(0, cells.length);
  return out + tail;
}
