/**
 * registry/client — the registry client: one transport (connections, auth, retries) and the
 * repositories reached through it, with the options every high-level operation shares.
 *
 *     const client = new RegistryClient({ credentials: new DockerConfigCredentials({ env, home }) });
 *     const { descriptor, bytes } = await resolve(client, parseImageReference('localhost:5000/busybox:1.35'));
 *     await client.close();
 */
import type { Reference } from '../reference/index.js';
import { Repository, type RepositoryOptions } from './repository.js';
import { RegistryTransport, type TransportOptions } from './transport.js';

export interface RegistryClientOptions extends TransportOptions, RepositoryOptions {
  /** blob transfers in parallel within one pull, push or copy (default 4) */
  concurrency?: number;
}

export class RegistryClient {
  readonly transport: RegistryTransport;
  readonly concurrency: number;
  readonly #repoOptions: RepositoryOptions;
  readonly #repos = new Map<string, Repository>();

  constructor(opts: RegistryClientOptions = {}) {
    this.transport = new RegistryTransport(opts);
    this.concurrency = opts.concurrency ?? 4;
    this.#repoOptions = opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {};
  }

  /** The repository of a reference (`domain` + `path`). */
  repository(ref: Pick<Reference, 'domain' | 'path'>): Repository {
    const key = `${ref.domain}/${ref.path}`;
    let r = this.#repos.get(key);
    if (!r) {
      r = new Repository(this.transport, ref.domain, ref.path, this.#repoOptions);
      this.#repos.set(key, r);
    }
    return r;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
