/**
 * graph/dispatch/run — RUN (BuildKit's dispatchRun): the command line with its heredocs, the
 * `--mount`s as exec mounts, network and security, and the exec op on the stage's filesystem.
 */
import { cleanPath } from '../../context/patternmatcher.js';
import { proxyBuildArgs, type RunInstruction, runMounts, type Vars } from '../../dockerfile/index.js';
import type { Mount } from '../../dockerfile/instructions/mount.js';
import type { ExecMount, Vertex } from '../ops.js';
import { runCommandString } from './history.js';
import type { Step } from './step.js';

const defaultShell = ['/bin/sh', '-c'];

export async function dispatchRun(d: Step<RunInstruction>): Promise<void> {
  const { cmd, state, opts } = d;
  const command = commandLine(d);
  const inputs: Vertex[] = [state.vertex];
  const mounts = [...(await execMounts(d, inputs)), ...command.mounts];
  const proxyEnv = proxyEnvOf(opts.buildArgs, d.vars);
  const vertex = d.commit(
    {
      type: 'exec',
      args: command.args,
      env: [...d.vars].map(([k, v]) => `${k}=${v}`),
      ...(proxyEnv.length ? { proxyEnv } : {}),
      cwd: d.cwd,
      user: state.config.User ?? '',
      network: cmd.network === 'default' ? opts.network : cmd.network,
      security: cmd.security,
      mounts,
      platform: state.platform,
      ...(opts.extraHosts.length ? { extraHosts: opts.extraHosts } : {}),
    },
    inputs,
    d.name(command.label),
  );
  d.record(`RUN ${runCommandString(command.args, d.scope)}`, vertex);
}

/** The arguments to run, the progress label, and the mounts a heredoc script needs. */
function commandLine(d: Step<RunInstruction>): { args: string[]; label: string; mounts: ExecMount[] } {
  const { cmd } = d;
  let args = cmd.cmdLine;
  let label = d.label();
  const mounts: ExecMount[] = [];
  const first = cmd.files[0];
  if (first) {
    const single = args.length === 1 && /^<<-?(["']?)([^"'\s]+)\1$/.test(args[0]!.trim());
    if (single) {
      const data = first.chomp ? first.data.replace(/^\t+/gm, '') : first.data;
      if (data.startsWith('#!')) {
        // a script with its own interpreter runs as a file
        mounts.push({
          type: 'files',
          target: '/dev/pipes/',
          files: [{ name: first.name, data, mode: 0o755 }],
        });
        args = [`/dev/pipes/${first.name}`];
      } else {
        args = [data];
      }
      label += ` (${summarizeHeredoc(first.data)})`;
    } else {
      args = [cmd.files.reduce((full, f) => `${full}\n${f.data}${f.name}`, args[0] ?? '')];
    }
  }
  if (cmd.prependShell) args = [...shellOf(d), args.join(' ')];
  return { args, label, mounts };
}

/** The stage's SHELL, or `/bin/sh -c`. */
export function shellOf(d: Step): string[] {
  const shell = d.state.config.Shell;
  return shell?.length ? shell : defaultShell;
}

/** RUN --mount options as exec mounts; a mount reading another filesystem adds it to `inputs`. */
async function execMounts(d: Step<RunInstruction>, inputs: Vertex[]): Promise<ExecMount[]> {
  let parsed: Mount[];
  try {
    parsed = runMounts(d.cmd, (w) => d.conv.plan.lex.processWord(w, d.vars).result);
  } catch (err) {
    throw d.error((err as Error).message);
  }
  const mounts: ExecMount[] = [];
  let from = 0;
  const input = async (m: Mount): Promise<number> => {
    inputs.push(m.type === 'bind' && m.from === '' ? d.opts.context : await d.source(from++));
    return inputs.length - 1;
  };
  for (const m of parsed) {
    const target = m.target.startsWith('/') ? cleanPath(m.target) : cleanPath(`${d.cwd}/${m.target}`);
    mounts.push(await execMount(m, target, input));
  }
  return mounts;
}

async function execMount(m: Mount, target: string, input: (m: Mount) => Promise<number>): Promise<ExecMount> {
  const source = cleanPath(`/${m.source || '/'}`);
  switch (m.type) {
    case 'bind':
      return { type: 'bind', target, input: await input(m), source, readonly: m.readOnly };
    case 'cache':
      return {
        type: 'cache',
        target,
        id: m.id || target,
        sharing: (m.sharing || 'shared') as 'shared' | 'private' | 'locked',
        readonly: m.readOnly,
        ...(m.from !== '' ? { input: await input(m), source } : {}),
        ...(m.mode !== undefined ? { mode: m.mode } : {}),
        ...(m.uid !== undefined ? { uid: m.uid } : {}),
        ...(m.gid !== undefined ? { gid: m.gid } : {}),
      };
    case 'tmpfs':
      return { type: 'tmpfs', target, ...(m.sizeLimit ? { size: m.sizeLimit } : {}) };
    case 'secret': {
      const id = m.id || m.target.split('/').pop() || '';
      return {
        type: 'secret',
        target: m.target ? target : `/run/secrets/${id}`,
        id,
        required: m.required,
        mode: m.mode ?? 0o400,
        uid: m.uid ?? 0,
        gid: m.gid ?? 0,
        ...(m.env ? { env: m.env } : {}),
      };
    }
    case 'ssh':
      return {
        type: 'ssh',
        target: m.target ? target : '/run/buildkit/ssh_agent.0',
        id: m.id || 'default',
        required: m.required,
        mode: m.mode ?? 0o600,
        uid: m.uid ?? 0,
        gid: m.gid ?? 0,
      };
  }
}

/** The proxy build args given on the command line that no ARG in scope declared. */
function proxyEnvOf(buildArgs: ReadonlyMap<string, string>, vars: Vars): string[] {
  return proxyBuildArgs
    .filter((k) => buildArgs.has(k) && !vars.has(k))
    .map((k) => `${k}=${buildArgs.get(k)}`);
}

/** BuildKit's summarizeHeredoc: the first line, cut at 32 characters, with `...` when more. */
function summarizeHeredoc(doc: string): string {
  const lines = doc.replace(/^\n+/, '').split('\n');
  let summary = lines[0] ?? '';
  const more = lines.filter((l) => l.trim() !== '').length > 1;
  if (summary.length > 32) summary = `${summary.slice(0, 32)}...`;
  else if (more) summary += '...';
  return summary;
}
