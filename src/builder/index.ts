/**
 * builder — builder instances (`create`, `use`, `ls`, `inspect`, `rm`, `stop`) and the upkeep
 * of their build cache (`du`, `prune`, and the content GC roots `rmi` needs).
 *
 * ```ts
 * const builders = await BuilderStore.open(root);
 * const b = await builders.resolve(flags.builder);      // --builder, else the current one
 * const hold = await builders.registerBuild(b);         // prune waits for it
 * await builders.exclusiveCache(() => pruneCache({ builder: b.name, builders, snapshots, content, prune }));
 * ```
 */
export * from './filters.js';
export * from './names.js';
export * from './node.js';
export * from './nodegroup.js';
export * from './platforms.js';
export * from './store.js';
export * from './usage.js';
