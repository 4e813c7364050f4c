/**
 * graph/dispatch/files — the instructions that become file ops: COPY and ADD (BuildKit's
 * dispatchCopy) and WORKDIR (dispatchWorkdir).
 */

import { cleanPath } from '../../context/patternmatcher.js';
import type { AddInstruction, CopyInstruction, WorkdirInstruction } from '../../dockerfile/index.js';
import { normalizeDest } from '../../fileop/paths.js';
import type { CopyAction, InlineFile } from '../ops.js';
import type { Step } from './step.js';

export async function dispatchCopy(d: Step<CopyInstruction | AddInstruction>): Promise<void> {
  const { cmd, state } = d;
  checkCopy(d);
  const inputs = [state.vertex];
  const actions: CopyAction[] = [];
  const common = {
    dest: normalizeDest(d.cwd, cmd.dest),
    workdir: d.cwd,
    ...(cmd.chown ? { chown: cmd.chown } : {}),
    ...(cmd.chmod ? { chmod: cmd.chmod } : {}),
    ...(cmd.exclude.length ? { exclude: cmd.exclude } : {}),
    link: cmd.link,
  };
  if (cmd.sources.length > 0) {
    inputs.push(cmd.kind === 'COPY' && cmd.from !== '' ? await d.source() : d.opts.context);
    const isAdd = cmd.kind === 'ADD';
    actions.push({
      action: 'copy',
      input: 1,
      sources: cmd.sources,
      followSymlinks: true,
      unpack: isAdd && cmd.unpack !== false,
      allowURL: isAdd,
      ...(isAdd && cmd.checksum ? { checksum: cmd.checksum } : {}),
      ...(cmd.kind === 'COPY' && cmd.parents ? { parents: true } : {}),
      ...common,
    });
  }
  if (cmd.sourceContents.length > 0) {
    const files: InlineFile[] = cmd.sourceContents.map((c) => ({
      name: c.path,
      data: c.expand ? d.conv.plan.lex.processWord(c.data, d.vars).result : c.data,
      mode: 0o644,
    }));
    actions.push({
      action: 'copy',
      input: -1,
      inline: files,
      sources: files.map((f) => f.name),
      followSymlinks: true,
      unpack: false,
      allowURL: false,
      ...common,
    });
  }
  const vertex = d.commit({ type: 'file', actions, platform: state.platform }, inputs);
  d.record(copyHistory(cmd), vertex);
}

function checkCopy(d: Step<CopyInstruction | AddInstruction>): void {
  const { cmd } = d;
  if (cmd.kind === 'ADD' && cmd.checksum && cmd.sources.length !== 1) {
    throw d.error("checksum can't be specified for multiple sources");
  }
  if (cmd.chmod && /^[0-7]+$/.test(cmd.chmod) && Number.parseInt(cmd.chmod, 8) > 0o7777) {
    throw d.error(
      `invalid chmod parameter: '${cmd.chmod}'. it should be octal string and between 0 and 07777`,
    );
  }
}

/** `COPY --chown=1:2 a b dir/` as BuildKit writes it in history (without --from). */
function copyHistory(cmd: CopyInstruction | AddInstruction): string {
  const words: string[] = [cmd.kind];
  if (cmd.kind === 'COPY' && cmd.parents) words.push('--parents');
  if (cmd.chown) words.push(`--chown=${cmd.chown}`);
  if (cmd.chmod) words.push(`--chmod=${cmd.chmod}`);
  words.push(...cmd.sources, ...cmd.sourceContents.map((s) => `<<${s.path}`), cmd.dest);
  return words.join(' ');
}

/** BuildKit's NormalizeWorkdir: relative paths join the current one; the result is clean and absolute. */
function normalizeWorkdir(current: string, requested: string): string {
  if (requested === '') return current || '/';
  const joined = requested.startsWith('/') ? requested : `${current || '/'}/${requested}`;
  return cleanPath(joined);
}

/** WORKDIR: a layer making the directory (empty when it exists), none for `/`. */
export function dispatchWorkdir(d: Step<WorkdirInstruction>): void {
  const { state } = d;
  const wd = normalizeWorkdir(state.config.WorkingDir ?? '', d.cmd.path);
  state.config.WorkingDir = wd;
  if (wd === '/') {
    d.record(`WORKDIR ${wd}`);
    return;
  }
  const chown = state.config.User ? { chown: state.config.User } : {};
  const vertex = d.commit(
    {
      type: 'file',
      actions: [{ action: 'mkdir', path: wd, mode: 0o755, parents: true, ...chown }],
      platform: state.platform,
      keepEmpty: true,
    },
    [state.vertex],
  );
  d.record(`WORKDIR ${wd}`, vertex, false);
}
