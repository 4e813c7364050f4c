/**
 * undici, loaded at its first use: it is half of the CLI bundle, and commands that speak no
 * HTTP (version, ls, images, a rebuild that finds everything cached) never need to parse it.
 */
type Undici = typeof import('undici');

let loaded: Promise<Undici> | undefined;
const beforeLoad: (() => void)[] = [];

/**
 * Runs `hook` just before undici is first loaded (at once if it is loaded already): the owner
 * of the process can set what must precede its first request (`cli/main` sets V8's WebAssembly
 * tier) without paying for it in commands that never speak HTTP.
 */
export function beforeUndiciLoads(hook: () => void): void {
  if (loaded) hook();
  else beforeLoad.push(hook);
}

export function loadUndici(): Promise<Undici> {
  if (!loaded) {
    for (const hook of beforeLoad.splice(0)) hook();
    // a CommonJS module: Node's loader names its exports; the bundle's chunk has only `default`
    loaded = import('undici').then((m) => (m as { default?: Undici }).default ?? m);
  }
  return loaded;
}
