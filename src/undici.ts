/**
 * undici, loaded at its first use: it is half of the CLI bundle, and commands that speak no
 * HTTP (version, ls, images, a rebuild that finds everything cached) never need to parse it.
 */
type Undici = typeof import('undici');

let loaded: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  // a CommonJS module: Node's loader names its exports; the bundle's chunk has only `default`
  loaded ??= import('undici').then((m) => (m as { default?: Undici }).default ?? m);
  return loaded;
}
