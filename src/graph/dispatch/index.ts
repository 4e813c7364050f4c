/**
 * graph/dispatch — one function per Dockerfile instruction (BuildKit's dispatchRun,
 * dispatchCopy, dispatchWorkdir, …), each changing one stage's state through a `Step`.
 */
import type { Command } from '../../dockerfile/index.js';
import * as config from './config.js';
import { dispatchCopy, dispatchWorkdir } from './files.js';
import { dispatchRun } from './run.js';
import type { Step } from './step.js';

type Dispatchers = {
  [K in Command['kind']]: (d: Step<Extract<Command, { kind: K }>>) => void | Promise<void>;
};

const dispatchers: Dispatchers = {
  RUN: dispatchRun,
  COPY: dispatchCopy,
  ADD: dispatchCopy,
  WORKDIR: dispatchWorkdir,
  ENV: config.dispatchEnv,
  ARG: config.dispatchArg,
  LABEL: config.dispatchLabel,
  MAINTAINER: config.dispatchMaintainer,
  CMD: config.dispatchCmd,
  ENTRYPOINT: config.dispatchEntrypoint,
  EXPOSE: config.dispatchExpose,
  USER: config.dispatchUser,
  VOLUME: config.dispatchVolume,
  STOPSIGNAL: config.dispatchStopSignal,
  HEALTHCHECK: config.dispatchHealthcheck,
  SHELL: config.dispatchShell,
  ONBUILD: config.dispatchOnbuild,
};

/** Runs the step's instruction on its stage. */
export function dispatch(d: Step): void | Promise<void> {
  const fn = dispatchers[d.cmd.kind] as (d: Step) => void | Promise<void>;
  return fn(d);
}

export { namedContextKey, Sources, scratchVertex } from './sources.js';
export { type Conversion, Step } from './step.js';
export type * from './types.js';
