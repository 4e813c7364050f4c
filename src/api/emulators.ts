/**
 * api/emulators — which platforms this host runs natively, which through which binfmt_misc
 * handler, and which not at all; registering and removing QEMU handlers (what
 * `docker run --privileged tonistiigi/binfmt --install …` does). `polyarch emulators` formats these.
 */
export {
  type BinfmtState,
  defaultBinfmtDir,
  emulationReport,
  type InstallOptions,
  installEmulators,
  knownPlatforms,
  type PlatformSupport,
  uninstallEmulators,
} from '../executor/emulation/index.js';
