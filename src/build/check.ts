/**
 * build/check — a build's options checked against the world before anything is opened or
 * built: what polyarch does not do yet, the context and `--build-context` directories, secret
 * files, the outputs, the caches, SOURCE_DATE_EPOCH. Each problem is one error naming the flag and value.
 */
import { existsSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { resolveAttests } from '../attest/request.js';
import type { AttestRequest } from '../attest/types.js';
import {
  type CacheExport,
  type CacheImport,
  resolveCacheExports,
  resolveCacheImports,
} from '../cache/spec.js';
import { parseContextArg } from '../context/index.js';
import type { NamedContextSource } from '../driver/types.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { type Output, resolveOutputs } from '../exporter/outputs.js';
import { parseImageReference } from '../reference/index.js';
import type { BuildOptions, SecretSpec } from './options.js';

/** Where a build runs from: relative paths are the working directory's. */
export interface CheckContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** whether standard output is a terminal (an archive may not go there) */
  stdoutIsTTY: boolean;
}

/** The options, checked and resolved. */
export interface CheckedBuild {
  /** the build context directory; absent for `build -` */
  contextDir?: string;
  namedContexts: Map<string, NamedContextSource>;
  outputs: Output[];
  /** `--secret` with absolute file paths */
  secrets: SecretSpec[];
  sourceDateEpoch?: number;
  /** `--cache-to` */
  cacheExports: CacheExport[];
  /** `--cache-from` */
  cacheImports: CacheImport[];
  /** `--provenance`, `--sbom`, `--attest` */
  attest: AttestRequest;
}

export async function checkBuild(ctx: CheckContext, o: BuildOptions): Promise<CheckedBuild> {
  refuseUnsupported(o);
  const secrets = checkSecrets(ctx.cwd, o.secrets);
  const contextDir = await checkContext(ctx.cwd, o.contextPath);
  const namedContexts = checkNamedContexts(ctx.cwd, o.buildContexts);
  const outputs = resolveOutputs({
    outputs: o.outputs,
    tags: o.tags,
    push: o.push,
    load: o.loadDocker ? 'docker' : o.load,
    annotations: o.annotations,
    cwd: ctx.cwd,
    stdoutIsTTY: ctx.stdoutIsTTY,
  });
  const attest = resolveAttests(o.attests);
  checkAttestOutputs(attest, outputs);
  const sourceDateEpoch = sourceDateEpochOf(o, ctx.env);
  const cacheExports = resolveCacheExports(o.cacheTo, ctx.cwd);
  const cacheImports = resolveCacheImports(o.cacheFrom, ctx.cwd);
  return {
    attest,
    cacheExports,
    cacheImports,
    ...(contextDir !== undefined ? { contextDir } : {}),
    namedContexts,
    outputs,
    secrets,
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
  };
}

/** Options buildx has that polyarch parses but does not do yet: one clear error, before any work. */
function refuseUnsupported(o: BuildOptions): void {
  const refuse = (what: string, why: string) => {
    throw new UnsupportedError(`${what} is not supported yet: ${why}`);
  };
  if (o.ssh.length) refuse('--ssh', 'SSH agent forwarding into RUN --mount=type=ssh is not implemented');
}

/** Attestations live in an index next to the images: Docker schema 2 outputs cannot hold them (as BuildKit). */
function checkAttestOutputs(attest: AttestRequest, outputs: readonly Output[]): void {
  if (!attest.provenance && !attest.sbom) return;
  for (const out of outputs) {
    if ('format' in out && !out.format.oci) {
      throw new InvalidArgumentError(
        `output type=${out.type === 'load' ? 'docker' : out.type}: cannot export attestations with "oci-mediatypes=false"`,
      );
    }
  }
}

/** The context argument: a directory, or `-` (a Dockerfile on stdin and no context, as buildx takes it). */
async function checkContext(cwd: string, arg: string): Promise<string | undefined> {
  const input = parseContextArg(arg);
  if (input.kind === 'url') {
    throw new UnsupportedError(`a remote build context (${input.url}) is not supported yet`);
  }
  if (input.kind !== 'dir') return undefined;
  const dir = resolve(cwd, input.dir);
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new InvalidArgumentError(`unable to prepare context: path "${input.dir}" not found`);
  if (!st.isDirectory()) {
    throw new InvalidArgumentError(`unable to prepare context: path "${input.dir}" is not a directory`);
  }
  return dir;
}

/**
 * `--build-context name=value`: local directories and `docker-image://REF` values; other
 * sources are refused.
 */
function checkNamedContexts(
  cwd: string,
  contexts: Readonly<Record<string, string>>,
): Map<string, NamedContextSource> {
  const out = new Map<string, NamedContextSource>();
  for (const [name, value] of Object.entries(contexts)) {
    if (value.startsWith('docker-image://')) {
      const ref = value.slice('docker-image://'.length);
      parseImageReference(ref);
      out.set(name, { kind: 'image', ref });
      continue;
    }
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(value)?.[1];
    if (scheme || value.startsWith('target:') || value.startsWith('git@')) {
      throw new UnsupportedError(
        `--build-context ${name}=${value}: only local directories and docker-image:// references are supported`,
      );
    }
    const dir = resolve(cwd, value);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new InvalidArgumentError(`--build-context ${name}=${value}: ${dir} is not a directory`);
    }
    out.set(name, { kind: 'local', dir });
  }
  return out;
}

/** `--secret id=…,src=FILE` names a file that must be readable before the build starts, as in buildx. */
function checkSecrets(cwd: string, secrets: readonly SecretSpec[]): SecretSpec[] {
  return secrets.map((s) => {
    if (s.src === undefined) return s;
    const path = resolve(cwd, s.src);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new InvalidArgumentError(`--secret id=${s.id}: ${path} is not a readable file`);
    }
    return { ...s, src: path };
  });
}

/** SOURCE_DATE_EPOCH from the build args or the environment, as buildx passes it. */
function sourceDateEpochOf(o: BuildOptions, env: NodeJS.ProcessEnv): number | undefined {
  const raw = o.buildArgs.SOURCE_DATE_EPOCH ?? env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw))
    throw new InvalidArgumentError(`invalid SOURCE_DATE_EPOCH "${raw}": expected seconds since the epoch`);
  return Number(raw);
}
