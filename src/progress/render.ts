/**
 * progress/render — the typed registry of progress renderers (`--progress` values) and the
 * choice `auto` makes: `tty` when the output is a terminal, `plain` otherwise.
 */
import { InvalidArgumentError } from '../errors.js';
import { goJSON } from '../oci/json.js';
import type { Renderer, SolveStatus } from './events.js';

export type { Renderer } from './events.js';

import { PlainRenderer } from './plain.js';
import { TtyRenderer } from './tty.js';

export interface RenderTarget {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  env?: NodeJS.ProcessEnv;
}

/** `--progress=rawjson`: one SolveStatus a line, escaped as Go's encoding/json does. */
class RawJSONRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream) {}
  write(s: SolveStatus): void {
    this.out.write(`${goJSON(s)}\n`);
  }
  async done(): Promise<void> {}
}

class QuietRenderer implements Renderer {
  write(): void {}
  async done(): Promise<void> {}
}

export const renderers = {
  tty: (t: RenderTarget) =>
    new TtyRenderer(t.stream, {
      columns: () => t.stream.columns || 80,
      rows: () => t.stream.rows || 24,
      color: !t.env?.NO_COLOR,
    }),
  plain: (t: RenderTarget) => new PlainRenderer(t.stream),
  rawjson: (t: RenderTarget) => new RawJSONRenderer(t.stream),
  quiet: (_t: RenderTarget) => new QuietRenderer(),
} satisfies Record<string, (t: RenderTarget) => Renderer>;

export type ProgressMode = keyof typeof renderers | 'auto';

export const progressModes: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'rawjson', 'quiet'];

/** Picks and builds the renderer for a `--progress` value (default from BUILDKIT_PROGRESS). */
export function createRenderer(mode: string | undefined, target: RenderTarget): Renderer {
  const m = (mode || target.env?.BUILDKIT_PROGRESS || 'auto') as ProgressMode;
  if (m === 'auto') return target.stream.isTTY ? renderers.tty(target) : renderers.plain(target);
  if (!(m in renderers)) {
    throw new InvalidArgumentError(
      `invalid progress mode "${m}": expected one of ${progressModes.join(', ')}`,
    );
  }
  if (m === 'tty' && !target.stream.isTTY) {
    throw new InvalidArgumentError('--progress tty needs a terminal; use --progress plain');
  }
  return renderers[m](target);
}
