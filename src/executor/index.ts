/**
 * executor — running a build step's process in a root filesystem with an OCI runtime (runc or
 * crun), and (in `emulation/`) making foreign platforms run through binfmt_misc and QEMU.
 *
 * The engine mounts a step's overlay, calls `new Executor({ stateDir }).run({ rootfs, args, … })`
 * and takes the overlay's upper directory as the step's layer; before a build it calls
 * `checkPlatforms` so that a missing emulator stops it with a clear error up front.
 */
export { defaultCapabilities } from './capabilities.js';
export { Executor, type ExecutorOptions, isStaleId } from './executor.js';
export { defaultHostname, hostnameFile, hostsFile } from './hosts.js';
export { containerResolvConf } from './resolvconf.js';
export { resolveInRoot } from './rootpath.js';
export { type OciRuntime, type OciRuntimeOptions, ociRuntime, type RuntimeName } from './runtime.js';
export {
  defaultMaskedPaths,
  defaultReadonlyPaths,
  generateSpec,
  type RuntimeSpec,
  type SpecInput,
} from './spec.js';
export type {
  BindMount,
  ExecMount,
  ExecRequest,
  ExecResult,
  HostEntry,
  RawMount,
  RuntimeNetwork,
  SecurityMode,
  TmpfsMount,
  Ulimit,
} from './types.js';
export { type ExecUser, parseGroup, parsePasswd, readExecUser, resolveUser } from './user.js';
