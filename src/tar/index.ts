/**
 * tar — our own tar format: a streaming reader and writer faithful to what container layers
 * hold (PAX, GNU long names, base-256 numbers, binary xattrs, devices, hardlinks).
 *
 * ```ts
 * for await (const { header, body } of readTar(stream)) { … }
 * Readable.from(writeTar(entries)).pipe(out);
 * ```
 */
export * from './header.js';
export * from './reader.js';
export * from './writer.js';
