/**
 * emulation — running foreign platforms' binaries through binfmt_misc and QEMU user-mode
 * emulation: which platforms the host runs natively, what binfmt_misc has registered, the
 * preflight a build runs (`checkPlatforms`), and registering Debian's qemu-user-static
 * handlers with the F flag (`installEmulators`, what `tonistiigi/binfmt --install` does).
 */
export {
  type BinfmtEntry,
  type BinfmtRegistration,
  type BinfmtState,
  defaultBinfmtDir,
  formatRegistration,
  matchesHeader,
  parseBinfmtEntry,
  parseRegistration,
  readBinfmt,
} from './binfmt.js';
export {
  assessPlatform,
  checkPlatforms,
  type EmulationOptions,
  emulationFailureMessage,
  emulationReport,
  handlerProblem,
  type PlatformSupport,
} from './check.js';
export {
  type InstallOptions,
  type InstallReport,
  type InstallResult,
  installEmulators,
  qemuRegistration,
  readRegistrationData,
  uninstallEmulators,
} from './install.js';
export { armProbeElf, detectHostInfo, type HostInfo, nativePlatforms, probeExecutable } from './native.js';
export { elfHeader, knownPlatforms, platformElfHeader, qemuArchOf } from './qemu.js';
