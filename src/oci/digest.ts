/**
 * oci/digest — the branded `Digest` type: `algorithm:encoded`, validated by the OCI grammar.
 *
 * Only sha256 (and sha512, which the spec registers) are accepted for content we compute or
 * verify. `digestOf(bytes)` computes one; `parseDigest` validates a string from outside.
 */
import { InvalidArgumentError } from '../errors.js';

declare const digestBrand: unique symbol;
/** A validated content digest such as `sha256:9f86d08…`. */
export type Digest = string & { readonly [digestBrand]: true };

const encodedPattern: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};
// The image-spec grammar: algorithm ::= component (separator component)*, encoded ::= [a-zA-Z0-9=_-]+
const generic = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** True when `s` is a digest we can verify (sha256 or sha512, lower-case hex of the right length). */
export function isDigest(s: string): s is Digest {
  if (!generic.test(s)) return false;
  const i = s.indexOf(':');
  const pattern = encodedPattern[s.slice(0, i)];
  return pattern?.test(s.slice(i + 1)) === true;
}

/** Validates `s` as a digest or throws an error that quotes it. */
export function parseDigest(s: string): Digest {
  if (isDigest(s)) return s;
  if (generic.test(s)) {
    const alg = s.slice(0, s.indexOf(':'));
    if (!(alg in encodedPattern))
      throw new InvalidArgumentError(`unsupported digest algorithm "${alg}" in "${s}"`);
  }
  throw new InvalidArgumentError(`invalid digest "${s}"`);
}

/**
 * A hash of algorithm `alg` (default sha256). node:crypto is loaded at the first one, not when
 * a command starts: commands that hash nothing (`ls`, `version`) never pay for it.
 */
export function createHashOf(alg = 'sha256'): import('node:crypto').Hash {
  return process.getBuiltinModule('node:crypto').createHash(alg);
}

/** sha256 of the bytes, as a Digest. */
export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHashOf().update(data).digest('hex')}` as Digest;
}

/** The algorithm part (`sha256`). */
export function digestAlgorithm(d: Digest): string {
  return d.slice(0, d.indexOf(':'));
}

/** The encoded part (the hex). */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** An incremental sha256 digester for streams. */
export interface Digester {
  update(chunk: Uint8Array): void;
  digest(): Digest;
}

export function newDigester(): Digester {
  const h = createHashOf();
  return {
    update(chunk) {
      h.update(chunk);
    },
    digest() {
      return `sha256:${h.digest('hex')}` as Digest;
    },
  };
}

/** Short form used in progress output: the first 12 hex characters. */
export function shortDigest(d: Digest): string {
  return digestHex(d).slice(0, 12);
}
