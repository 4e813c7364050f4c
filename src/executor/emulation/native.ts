/**
 * emulation/native — which platforms this machine runs without an emulator.
 *
 * An amd64 host runs amd64, the x86-64 micro-architecture levels its CPU has (v2: SSE4.2,
 * POPCNT…; v3: AVX2, BMI2, FMA…; v4: AVX-512), and 386 when the kernel runs 32-bit programs.
 * An arm64 host runs arm64, and arm/v7, v6, v5 when its CPUs and kernel run AArch32 programs
 * (many server CPUs do not). Other hosts run their own platform.
 *
 * `nativePlatforms` is pure over a `HostInfo`; `detectHostInfo` gathers one: CPU flags from
 * /proc/cpuinfo, 32-bit support from /proc/sys/abi/vsyscall32 on x86-64 and, on arm64, by
 * executing a tiny AArch32 program (`armProbeElf`), as BuildKit's archutil does.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Platform } from '../../oci/types.js';
import { detectHostPlatform } from '../../platforms/host.js';
import { normalizePlatform } from '../../platforms/index.js';

export interface HostInfo {
  platform: Platform;
  /** CPU feature flags (x86: `flags`, arm: `Features` of /proc/cpuinfo) */
  cpuFlags: readonly string[];
  /** true when the kernel and CPU run the 32-bit sibling (386 on amd64, arm on arm64) */
  compat32: boolean;
}

/** x86-64 micro-architecture levels as /proc/cpuinfo names the features (psABI). */
const amd64Levels: { variant: string; flags: string[] }[] = [
  { variant: 'v2', flags: ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'] },
  { variant: 'v3', flags: ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'] },
  { variant: 'v4', flags: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'] },
];

/** The platforms `host` runs natively, best first. */
export function nativePlatforms(host: HostInfo): Platform[] {
  const p = normalizePlatform(host.platform);
  const os = p.os;
  switch (p.architecture) {
    case 'amd64': {
      const out: Platform[] = [];
      const flags = new Set(host.cpuFlags);
      for (const level of amd64Levels) {
        if (!level.flags.every((f) => flags.has(f))) break;
        out.unshift({ os, architecture: 'amd64', variant: level.variant });
      }
      out.push({ os, architecture: 'amd64' });
      if (host.compat32) out.push({ os, architecture: '386' });
      return out;
    }
    case 'arm64': {
      const out: Platform[] = [{ os, architecture: 'arm64' }];
      if (host.compat32)
        for (const v of ['v7', 'v6', 'v5']) out.push({ os, architecture: 'arm', variant: v });
      return out;
    }
    case 'arm': {
      const level = Number.parseInt((p.variant ?? 'v7').slice(1), 10) || 7;
      const out: Platform[] = [];
      for (let v = level; v >= 5; v--) out.push({ os, architecture: 'arm', variant: `v${v}` });
      return out;
    }
    default:
      return [p];
  }
}

/**
 * A minimal AArch32 executable that exits 0: an ELF header, one PT_LOAD segment, and
 * `mov r0, #0; mov r7, #1 (exit); svc #0`.
 */
export function armProbeElf(): Uint8Array {
  const base = 0x10000;
  const code = [0xe3a00000, 0xe3a07001, 0xef000000];
  const size = 52 + 32 + code.length * 4;
  const b = Buffer.alloc(size);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(40, 18); // EM_ARM
  b.writeUInt32LE(1, 20); // EV_CURRENT
  b.writeUInt32LE(base + 84, 24); // e_entry
  b.writeUInt32LE(52, 28); // e_phoff
  b.writeUInt32LE(0x05000000, 36); // EABI5
  b.writeUInt16LE(52, 40); // e_ehsize
  b.writeUInt16LE(32, 42); // e_phentsize
  b.writeUInt16LE(1, 44); // e_phnum
  // program header: PT_LOAD of the whole file, R+X
  b.writeUInt32LE(1, 52);
  b.writeUInt32LE(0, 56);
  b.writeUInt32LE(base, 60);
  b.writeUInt32LE(base, 64);
  b.writeUInt32LE(size, 68);
  b.writeUInt32LE(size, 72);
  b.writeUInt32LE(5, 76);
  b.writeUInt32LE(0x1000, 80);
  code.forEach((insn, i) => {
    b.writeUInt32LE(insn, 84 + i * 4);
  });
  return new Uint8Array(b);
}

/** Runs `elf` and says whether it exited 0 (false when it could not be executed). */
export function probeExecutable(elf: Uint8Array, dir = tmpdir()): boolean {
  const tmp = mkdtempSync(join(dir, 'polyarch-probe-'));
  try {
    const path = join(tmp, 'probe');
    writeFileSync(path, elf);
    chmodSync(path, 0o755);
    const r = process
      .getBuiltinModule('node:child_process')
      .spawnSync(path, [], { stdio: 'ignore', timeout: 5000 });
    return !r.error && r.status === 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function cpuFlags(cpuinfo: string): string[] {
  const m = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(cpuinfo);
  return m ? m[1]!.trim().split(/\s+/) : [];
}

/** x86-64 kernels without IA32 emulation have no abi.vsyscall32; it can also be off at boot. */
function x86Compat32(): boolean {
  if (!existsSync('/proc/sys/abi/vsyscall32')) return false;
  try {
    return !/\bia32_emulation=(0|false|off|n)\b/.test(readFileSync('/proc/cmdline', 'utf8'));
  } catch {
    return true;
  }
}

export interface DetectHostOptions {
  /** the host's platform (default: from the running Node binary) */
  platform?: Platform;
  /** whether an enabled binfmt_misc handler would take arm binaries (the probe would then prove nothing) */
  armHandled?: boolean;
}

/** Gathers the host facts `nativePlatforms` needs. */
export function detectHostInfo(opts: DetectHostOptions = {}): HostInfo {
  const platform = normalizePlatform(opts.platform ?? detectHostPlatform());
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // no /proc: no flags
  }
  let compat32 = false;
  if (platform.architecture === 'amd64') compat32 = x86Compat32();
  else if (platform.architecture === 'arm64' && !opts.armHandled) compat32 = probeExecutable(armProbeElf());
  return { platform, cpuFlags: cpuFlags(info), compat32 };
}
