/**
 * content — the local content store: blobs by digest in an OCI image layout, the names of
 * local images in its index.json, leases and garbage collection, and the root directory.
 *
 *     const root = resolveRootDir({ flag, env: process.env, uid: process.getuid(), home: homedir() });
 *     const store = await openContentStore(rootLayout(root).content);
 *     const desc = await store.putBlob(configBytes, { mediaType: MediaTypeImageConfig });
 *     const w = await store.openWriter({ mediaType: MediaTypeImageLayerGzip });
 *     await pipeline(tar, createGzip(), w.stream);
 *     const layer = await w.commit();
 *     await store.setName('docker.io/library/app:latest', indexDesc);
 *     await store.close();
 *
 * See store.ts for the crash-safety and concurrency design (temp file + fsync + rename,
 * a kernel-released lock, leases that GC honours).
 */
export * from './images.js';
export * from './interfaces.js';
export * from './lock.js';
export * from './root.js';
export * from './store.js';
export * from './walk.js';
