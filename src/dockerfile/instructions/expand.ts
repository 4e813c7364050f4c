/**
 * dockerfile/instructions/expand — variable expansion of an instruction's words, as BuildKit's
 * `Expand(expander)` methods do at dispatch: which fields are expanded and which are not
 * (command lines are left to the shell; ARG is handled by the scope, not here).
 */
import { type Mount, parseMount } from './mount.js';
import type { Command, KeyValue, RunInstruction } from './types.js';

/** Expands one word (quotes removed, variables replaced). */
export type WordExpander = (word: string) => string;
/** Expands and splits one word into words (for EXPOSE). */
export type WordsExpander = (word: string) => string[];

export interface Expanders {
  word: WordExpander;
  words: WordsExpander;
}

const kv = (pairs: readonly KeyValue[], e: WordExpander): KeyValue[] =>
  pairs.map((p) => ({ key: e(p.key), value: e(p.value), noDelim: p.noDelim }));

/**
 * The instruction with its expandable words expanded: ENV and LABEL keys and values,
 * ADD/COPY sources, destination, `--chown`, `--chmod`, `--checksum` and `--exclude`, WORKDIR,
 * USER, VOLUME, STOPSIGNAL, EXPOSE ports. RUN's mounts are expanded by `runMounts`.
 */
export function expandInstruction<C extends Command>(ins: C, x: Expanders): C {
  const e = x.word;
  const c: Command = ins;
  switch (c.kind) {
    case 'ENV':
      return { ...c, env: kv(c.env, e) } as C;
    case 'LABEL':
      return { ...c, labels: kv(c.labels, e) } as C;
    case 'ADD':
    case 'COPY': {
      const copy = {
        ...c,
        sources: c.sources.map(e),
        dest: e(c.dest),
        chown: e(c.chown),
        chmod: e(c.chmod),
        exclude: c.exclude.map(e),
      };
      return (c.kind === 'ADD' ? { ...copy, checksum: e(c.checksum) } : copy) as C;
    }
    case 'WORKDIR':
      return { ...c, path: e(c.path) } as C;
    case 'USER':
      return { ...c, user: e(c.user) } as C;
    case 'VOLUME':
      return { ...c, volumes: c.volumes.map(e) } as C;
    case 'STOPSIGNAL':
      return { ...c, signal: e(c.signal) } as C;
    case 'EXPOSE':
      return { ...c, ports: c.ports.flatMap(x.words) } as C;
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
    case 'MAINTAINER':
    case 'ARG':
    case 'ONBUILD':
    case 'HEALTHCHECK':
    case 'SHELL':
      return ins;
  }
}

/** RUN's `--mount` specs, each value expanded, parsed and checked. */
export function runMounts(run: RunInstruction, expand: WordExpander): Mount[] {
  return run.mounts.map((m) => parseMount(m, expand));
}
