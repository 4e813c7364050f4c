/**
 * executor/capabilities — Linux capability names, the default set a build step gets
 * (containerd's `defaultUnixCaps`, which BuildKit and Docker use), and the set an insecure step
 * gets: every capability this process holds in its bounding set, as BuildKit's
 * `security.WithInsecureSpec` reads it (`cap.Current()`).
 */
import { readFileSync } from 'node:fs';

/** Capability names by bit number (linux/capability.h). */
const capabilityNames: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** What a build step gets by default (containerd `oci.defaultUnixCaps`). */
export const defaultCapabilities: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** The names of the bits set in a capability mask as /proc shows it (`000001fffeffffff`). */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  const out: string[] = [];
  for (let bit = 0; bit < capabilityNames.length; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(capabilityNames[bit]!);
  }
  return out;
}

/** The bounding set of this process (`CapBnd` in /proc/self/status), by name. */
export function currentCapabilities(statusPath = '/proc/self/status'): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync(statusPath, 'utf8'));
  return m ? capabilitiesOfMask(m[1]!) : [...defaultCapabilities];
}
