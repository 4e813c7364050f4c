/**
 * oci — image-spec and distribution types, media types, annotations, digests, canonical JSON.
 * Pure: no I/O.
 */
export * from './annotations.js';
export * from './digest.js';
export * from './json.js';
export * from './mediatypes.js';
export * from './types.js';
