/**
 * snapshot — layers as overlayfs directories: the store (`SnapshotStore`: unpack pulled layers
 * once per chain, prepare/commit build steps, mount, flatten, remove, du), the safe unpacker,
 * and the diff of an upper dir into an OCI layer.
 *
 * ```ts
 * const store = await SnapshotStore.open({ root });
 * let top = await store.getByChainID(chainID) ?? await store.unpackLayer(blob, { mediaType, diffID, parent: top });
 * const step = await store.prepare(top);         // step.merged is the rootfs for runc
 * const snap = await store.commit(step);
 * const layer = await store.diff(snap, sink, { sourceDateEpoch });   // { diffID, digest, size, mediaType }
 * ```
 */
export * from './chainid.js';
export * from './compression.js';
export * from './diff.js';
export * from './mount.js';
export * from './paths.js';
export * from './store.js';
export { defaultTools, type Tools } from './tools.js';
export * from './unpack.js';
export * from './xattr.js';
