/**
 * emulation/qemu — which QEMU user-mode emulator runs which platform, and what that platform's
 * executables look like to the kernel (the ELF header binfmt_misc matches). Pure.
 *
 *     qemuArchOf({ os: 'linux', architecture: 'arm64' })              → 'aarch64'
 *     qemuArchOf({ os: 'linux', architecture: 'arm', variant: 'v6' }) → 'arm'
 *     elfHeader('aarch64')   → 64 bytes: \x7fELF, 64-bit, little-endian, ET_EXEC, EM_AARCH64
 *
 * The header is "a typical executable" of the platform; a handler whose magic/mask accepts it
 * is the one the kernel uses for that platform's binaries (tonistiigi/binfmt's table, QEMU's
 * `qemu-binfmt-conf.sh`).
 */
import type { Platform } from '../../oci/types.js';
import { normalizePlatform } from '../../platforms/index.js';

/** How an architecture's executables start. */
export interface ElfIdent {
  /** 1: 32-bit, 2: 64-bit */
  elfClass: 1 | 2;
  /** 1: little-endian, 2: big-endian */
  data: 1 | 2;
  /** e_machine */
  machine: number;
  /** e_flags of a typical executable */
  flags?: number;
}

interface ArchInfo {
  qemu: string;
  elf: ElfIdent;
}

/** GOARCH → QEMU user-mode target, with the ELF identity of its executables. */
const byGoArch: Record<string, ArchInfo> = {
  amd64: { qemu: 'x86_64', elf: { elfClass: 2, data: 1, machine: 62 } },
  '386': { qemu: 'i386', elf: { elfClass: 1, data: 1, machine: 3 } },
  arm64: { qemu: 'aarch64', elf: { elfClass: 2, data: 1, machine: 183 } },
  arm: { qemu: 'arm', elf: { elfClass: 1, data: 1, machine: 40, flags: 0x05000000 } },
  ppc64le: { qemu: 'ppc64le', elf: { elfClass: 2, data: 1, machine: 21, flags: 2 } },
  ppc64: { qemu: 'ppc64', elf: { elfClass: 2, data: 2, machine: 21, flags: 1 } },
  s390x: { qemu: 's390x', elf: { elfClass: 2, data: 2, machine: 22 } },
  riscv64: { qemu: 'riscv64', elf: { elfClass: 2, data: 1, machine: 243, flags: 5 } },
  mips64le: { qemu: 'mips64el', elf: { elfClass: 2, data: 1, machine: 8 } },
  mips64: { qemu: 'mips64', elf: { elfClass: 2, data: 2, machine: 8 } },
  mipsle: { qemu: 'mipsel', elf: { elfClass: 1, data: 1, machine: 8 } },
  mips: { qemu: 'mips', elf: { elfClass: 1, data: 2, machine: 8 } },
  loong64: { qemu: 'loongarch64', elf: { elfClass: 2, data: 1, machine: 258 } },
};

/** The platforms `polyarch emulators` reports on, in the order it lists them. */
export const knownPlatforms: readonly string[] = [
  'linux/amd64',
  'linux/amd64/v2',
  'linux/amd64/v3',
  'linux/amd64/v4',
  'linux/386',
  'linux/arm64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/arm/v5',
  'linux/ppc64le',
  'linux/ppc64',
  'linux/s390x',
  'linux/riscv64',
  'linux/mips64le',
  'linux/mips64',
  'linux/mipsle',
  'linux/mips',
  'linux/loong64',
];

/** The QEMU target that runs `p`, or undefined when QEMU has none (or `p` is not Linux). */
export function qemuArchOf(p: Platform): string | undefined {
  const n = normalizePlatform(p);
  if (n.os !== 'linux') return undefined;
  return byGoArch[n.architecture]?.qemu;
}

/** All QEMU targets polyarch knows, each with one platform it serves. */
export function qemuArchs(): { qemu: string; architecture: string }[] {
  return Object.entries(byGoArch).map(([architecture, a]) => ({ qemu: a.qemu, architecture }));
}

/** The ELF identity of the QEMU target `qemu` (`aarch64`, `arm`, …). */
export function elfIdentOf(qemu: string): ElfIdent | undefined {
  return Object.values(byGoArch).find((a) => a.qemu === qemu)?.elf;
}

/** A 64-byte ELF header of an executable for `ident` (ET_EXEC, EV_CURRENT, the given flags). */
export function elfHeader(ident: ElfIdent): Uint8Array {
  const buf = Buffer.alloc(64);
  buf.set([0x7f, 0x45, 0x4c, 0x46, ident.elfClass, ident.data, 1], 0);
  const le = ident.data === 1;
  const u16 = (v: number, at: number) => (le ? buf.writeUInt16LE(v, at) : buf.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? buf.writeUInt32LE(v, at) : buf.writeUInt32BE(v, at));
  u16(2, 16); // e_type: ET_EXEC
  u16(ident.machine, 18);
  u32(1, 20); // e_version
  u32(ident.flags ?? 0, ident.elfClass === 1 ? 36 : 48);
  u16(ident.elfClass === 1 ? 52 : 64, ident.elfClass === 1 ? 40 : 52); // e_ehsize
  return new Uint8Array(buf);
}

/** The ELF header of `p`'s executables, or undefined when QEMU cannot run `p`. */
export function platformElfHeader(p: Platform): Uint8Array | undefined {
  const qemu = qemuArchOf(p);
  const ident = qemu === undefined ? undefined : elfIdentOf(qemu);
  return ident && elfHeader(ident);
}
