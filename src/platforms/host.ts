/**
 * platforms/host — detection of the platform this machine runs natively (kept apart from the
 * pure parsing so that tests and callers can pass any host in).
 */
import { readFileSync } from 'node:fs';
import type { Platform } from '../oci/types.js';
import { defaultHostPlatform, normalizePlatform } from './index.js';

/** The host's platform; on arm, the variant is read from /proc/cpuinfo ("CPU architecture: 7"). */
export function detectHostPlatform(): Platform {
  const p = defaultHostPlatform();
  if (p.architecture !== 'arm') return p;
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^CPU architecture\s*:\s*(\d+)/m.exec(cpuinfo);
    if (m) return normalizePlatform({ ...p, variant: m[1]! });
  } catch {
    // no /proc: keep the default variant
  }
  return p;
}
