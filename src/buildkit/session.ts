/**
 * buildkit/session — the services a BuildKit daemon calls back into during a build, over a
 * connection polyarch opened (the daemon is their gRPC client): `FileSync` (the context and
 * Dockerfile directories, only what it asks for), `Auth` (registry credentials from the docker
 * config), `Secrets` (`--secret`), `FileSend` (an exporter's tar stream) and the health check
 * the daemon uses to keep the session open.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http2';
import type { Writable } from 'node:stream';
import type { SecretSpec } from '../build/options.js';
import { sendDir } from './fssend.js';
import { GrpcCode, GrpcError, type ServerCall, type ServerHandler } from './grpc.js';
import { decodeBytesMessage, decodeString1, encodeBytesMessage, encodeCredentialsResponse } from './wire.js';

export interface SessionOptions {
  /** the directories the daemon may read, by the name it asks for (`context`, `dockerfile`, …) */
  dirs: ReadonlyMap<string, string>;
  secrets?: readonly SecretSpec[];
  env: NodeJS.ProcessEnv;
  /** registry credentials for a host */
  credentials?: (host: string) => Promise<{ username: string; secret: string } | undefined>;
  /** where an exporter's stream goes (`FileSend`) */
  fileSend?: () => Writable;
}

/** A session: its id and shared key for the Solve request, and its services. */
export interface SessionSpec {
  id: string;
  name: string;
  sharedKey: string;
  handlers: Map<string, ServerHandler>;
}

/** One value of a metadata header, url-decoded when its `-encoded` twin says so. */
function headerValues(md: IncomingHttpHeaders, key: string): string[] {
  const raw = md[key];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : String(raw).split(/,\s*/);
  const encoded = md[`${key}-encoded`] !== undefined && String(md[`${key}-encoded`]) !== '0';
  return list.filter((v) => v !== '').map((v) => (encoded ? decodeURIComponent(v.replace(/\+/g, ' ')) : v));
}

function fileSync(dirs: ReadonlyMap<string, string>): ServerHandler {
  return async (call) => {
    const name = headerValues(call.metadata, 'dir-name')[0] ?? '';
    const dir = dirs.get(name);
    if (dir === undefined) throw new GrpcError(GrpcCode.notFound, `no access allowed to dir "${name}"`);
    await sendDir(call, dir, {
      includes: headerValues(call.metadata, 'include-patterns'),
      excludes: headerValues(call.metadata, 'exclude-patterns'),
      followPaths: headerValues(call.metadata, 'followpaths'),
    });
  };
}

async function firstMessage(call: ServerCall): Promise<Uint8Array> {
  for await (const m of call.messages) return m;
  return new Uint8Array();
}

function secrets(list: readonly SecretSpec[], env: NodeJS.ProcessEnv): ServerHandler {
  return async (call) => {
    const id = decodeString1(await firstMessage(call));
    const spec = list.find((s) => s.id === id);
    let data: Buffer | undefined;
    if (spec?.src) data = await readFile(spec.src);
    else if (spec?.env && env[spec.env] !== undefined) data = Buffer.from(env[spec.env]!);
    else if (spec) data = env[spec.id] !== undefined ? Buffer.from(env[spec.id]!) : undefined;
    if (!data) throw new GrpcError(GrpcCode.notFound, `secret ${id} not found`);
    // GetSecretResponse: data = 1, the same shape as BytesMessage
    await call.send(encodeBytesMessage(data));
  };
}

function credentials(get: NonNullable<SessionOptions['credentials']>): ServerHandler {
  return async (call) => {
    const host = decodeString1(await firstMessage(call));
    const c = await get(host);
    await call.send(encodeCredentialsResponse(c?.username ?? '', c?.secret ?? ''));
  };
}

function fileSend(open: NonNullable<SessionOptions['fileSend']>): ServerHandler {
  return async (call) => {
    const out = open();
    try {
      for await (const m of call.messages) {
        const data = decodeBytesMessage(m);
        if (!out.write(data)) await new Promise((r) => out.once('drain', r));
      }
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      out.destroy(err as Error);
      throw err;
    }
  };
}

/** grpc.health.v1.Health/Check: SERVING. */
const health: ServerHandler = async (call) => {
  await firstMessage(call);
  await call.send(Buffer.from([0x08, 0x01]));
};

/** The session's services and identity. */
export function createSession(opts: SessionOptions): SessionSpec {
  const handlers = new Map<string, ServerHandler>([
    ['/grpc.health.v1.Health/Check', health],
    ['/moby.filesync.v1.FileSync/DiffCopy', fileSync(opts.dirs)],
  ]);
  if (opts.credentials) handlers.set('/moby.filesync.v1.Auth/Credentials', credentials(opts.credentials));
  if (opts.secrets?.length)
    handlers.set('/moby.buildkit.secrets.v1.Secrets/GetSecret', secrets(opts.secrets, opts.env));
  if (opts.fileSend) handlers.set('/moby.filesync.v1.FileSend/DiffCopy', fileSend(opts.fileSend));
  return {
    id: randomBytes(13).toString('hex').slice(0, 25),
    name: 'polyarch',
    sharedKey: randomBytes(16).toString('hex'),
    handlers,
  };
}

/** The headers that announce a session (the Engine API's /session, or Control.Session's metadata). */
export function sessionHeaders(s: SessionSpec): Record<string, string | string[]> {
  return {
    'X-Docker-Expose-Session-Uuid': s.id,
    'X-Docker-Expose-Session-Name': s.name,
    'X-Docker-Expose-Session-Sharedkey': s.sharedKey,
    'X-Docker-Expose-Session-Grpc-Method': [...s.handlers.keys()],
  };
}
