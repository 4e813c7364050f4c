/**
 * graph/dispatch/config — the instructions that change only the image config (and write an
 * empty-layer history entry): ENV, ARG, LABEL, MAINTAINER, CMD, ENTRYPOINT, EXPOSE, USER,
 * VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD.
 */
import type {
  ArgInstruction,
  CmdInstruction,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  HealthcheckInstruction,
  LabelInstruction,
  MaintainerInstruction,
  OnbuildInstruction,
  ShellInstruction,
  StopSignalInstruction,
  UserInstruction,
  VolumeInstruction,
} from '../../dockerfile/index.js';
import { goQuoteList } from '../../dockerfile/shell/quote.js';
import { goList, goPortMap, healthTimes } from './history.js';
import { shellOf } from './run.js';
import type { Step } from './step.js';

export function dispatchEnv(d: Step<EnvInstruction>): void {
  let env = d.state.config.Env ?? [];
  for (const e of d.cmd.env) env = setEnv(env, e.key, e.value);
  d.state.config.Env = env;
  d.record(`ENV ${d.cmd.env.map((e) => `${e.key}=${e.value}`).join(' ')}`);
}

/** `KEY=value` replaced where KEY is set, appended otherwise. */
function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** ARG: its scope is the plan's (dispatchScope); here only history. */
export function dispatchArg(d: Step<ArgInstruction>): void {
  d.record(`ARG ${d.cmd.args.map((a) => (a.value !== undefined ? `${a.key}=${a.value}` : a.key)).join(' ')}`);
}

export function dispatchLabel(d: Step<LabelInstruction>): void {
  const labels = { ...(d.state.config.Labels ?? {}) };
  for (const l of d.cmd.labels) labels[l.key] = l.value;
  d.state.config.Labels = labels;
  d.record(`LABEL ${d.cmd.labels.map((l) => `${l.key}=${l.value}`).join(' ')}`);
}

export function dispatchMaintainer(d: Step<MaintainerInstruction>): void {
  d.state.author = d.cmd.maintainer;
  d.record(`MAINTAINER ${d.cmd.maintainer}`);
}

/** A CMD or ENTRYPOINT's arguments: the shell form runs in the stage's SHELL. */
function commandArgs(d: Step<CmdInstruction | EntrypointInstruction>): string[] {
  return d.cmd.prependShell ? [...shellOf(d), d.cmd.cmdLine.join(' ')] : d.cmd.cmdLine;
}

export function dispatchCmd(d: Step<CmdInstruction>): void {
  const args = commandArgs(d);
  d.state.config.Cmd = args;
  d.state.config.ArgsEscaped = true;
  d.state.cmdSet = true;
  d.record(`CMD ${goQuoteList(args)}`);
}

/** ENTRYPOINT resets an inherited CMD, not one this stage set before it. */
export function dispatchEntrypoint(d: Step<EntrypointInstruction>): void {
  const args = commandArgs(d);
  d.state.config.Entrypoint = args;
  if (!d.state.cmdSet) d.state.config.Cmd = null;
  d.record(`ENTRYPOINT ${goQuoteList(args)}`);
}

export function dispatchExpose(d: Step<ExposeInstruction>): void {
  const ports = exposedPorts(d);
  const exposed = { ...(d.state.config.ExposedPorts ?? {}) };
  for (const p of ports) exposed[p] = {};
  d.state.config.ExposedPorts = exposed;
  d.record(`EXPOSE ${goPortMap(ports)}`);
}

const portRe = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;

/** nat.ParsePortSpecs for EXPOSE: `80`, `80/udp`, `8000-8002/tcp`. */
function exposedPorts(d: Step<ExposeInstruction>): string[] {
  const out: string[] = [];
  for (const p of d.cmd.ports) {
    const m = portRe.exec(p);
    if (!m) throw d.error(`invalid containerPort: ${p}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    const start = Number(m[1]);
    const end = m[2] ? Number(m[2]) : start;
    if (end < start) throw d.error(`invalid range specified for container port: ${p}`);
    for (let x = start; x <= end; x++) out.push(`${x}/${proto}`);
  }
  return out;
}

export function dispatchUser(d: Step<UserInstruction>): void {
  d.state.config.User = d.cmd.user;
  d.record(`USER ${d.cmd.user}`);
}

export function dispatchVolume(d: Step<VolumeInstruction>): void {
  const volumes = { ...(d.state.config.Volumes ?? {}) };
  for (const v of d.cmd.volumes) {
    if (v === '') throw d.error('VOLUME specified can not be an empty string');
    volumes[v] = {};
  }
  d.state.config.Volumes = volumes;
  d.record(`VOLUME ${goList(d.cmd.volumes)}`);
}

export function dispatchStopSignal(d: Step<StopSignalInstruction>): void {
  if (!/^(SIG[A-Z0-9+-]+|\d+|[A-Z0-9+-]+)$/i.test(d.cmd.signal))
    throw d.error(`invalid signal: ${d.cmd.signal}`);
  d.state.config.StopSignal = d.cmd.signal;
  d.record(`STOPSIGNAL ${d.cmd.signal}`);
}

export function dispatchHealthcheck(d: Step<HealthcheckInstruction>): void {
  const h = d.cmd.health;
  d.state.config.Healthcheck = {
    Test: h.test,
    ...(h.interval ? { Interval: h.interval } : {}),
    ...(h.timeout ? { Timeout: h.timeout } : {}),
    ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
    ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
  d.record(`HEALTHCHECK &{${goQuoteList(h.test)} ${healthTimes(h)} '\\x0${h.retries}'}`);
}

export function dispatchShell(d: Step<ShellInstruction>): void {
  d.state.config.Shell = d.cmd.shell;
  d.record(`SHELL ${goList(d.cmd.shell)}`);
}

/** ONBUILD: a trigger for the stages and images built FROM this one; no history. */
export function dispatchOnbuild(d: Step<OnbuildInstruction>): void {
  d.state.config.OnBuild = [...(d.state.config.OnBuild ?? []), d.cmd.expression];
}
