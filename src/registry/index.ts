/**
 * registry — the OCI distribution client (spec 1.1) over undici.
 *
 *     const client = new RegistryClient({
 *       credentials: new DockerConfigCredentials({ env: process.env, home: homedir() }),
 *       insecureRegistries: parseInsecureList(process.env.POLYARCH_INSECURE_REGISTRIES),
 *     });
 *     await pullImage({ client, store, ref, platforms: 'all', host });
 *     await pushImage({ client, store, source, sourceName, ref });
 *     await copyImage({ client, src, dst });
 *     await createIndex({ client, sources, tags });
 *
 * Layers: transport (scheme, auth, retries) → repository (the spec's endpoints) → pull, push,
 * copy, imagetools (whole images, bounded parallel transfers, each blob once).
 */
export * from './challenge.js';
export * from './client.js';
export * from './copy.js';
export * from './credentials.js';
export * from './errors.js';
export * from './hosts.js';
export * from './imagetools.js';
export * from './limit.js';
export * from './pull.js';
export * from './push.js';
export * from './referrers.js';
export * from './repository.js';
export * from './retry.js';
export * from './select.js';
export * from './transfer.js';
export * from './transport.js';
