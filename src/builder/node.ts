/**
 * builder/node — what `ls` and `inspect` show of a builder's node: the engine version, the
 * platforms it builds (configured ones, then this host's native platforms and those its
 * binfmt_misc emulators add, in BuildKit's order) and the worker labels BuildKit reports.
 */
import { hostname } from 'node:os';
import { emulationReport, knownPlatforms } from '../executor/emulation/index.js';
import type { Platform } from '../oci/types.js';
import { parsePlatform } from '../platforms/index.js';
import { polyarchVersion } from '../version.js';
import { formatInGroups, orderWorkerPlatforms } from './platforms.js';
import type { Builder, BuilderNodeRecord } from './store.js';

export interface NodeInfo {
  name: string;
  driver: BuilderNodeRecord['driver'];
  endpoint: string;
  status: Builder['status'];
  /** `create --driver-opt` */
  driverOpts?: Record<string, string>;
  /** why the node could not be reached (its status is then `inactive`) */
  error?: string;
  /** the engine version (BuildKit's column shows the daemon's) */
  version: string;
  /** configured platforms marked `*`, then the detected ones */
  platforms: string[];
  labels: Record<string, string>;
}

export interface NodeInfoOptions {
  /** the host platform */
  host: Platform;
  /** how platforms run here (default: read from binfmt_misc) */
  supported?: () => Platform[];
}

/** Every platform this host builds for, natively or emulated, in BuildKit's order. */
export function workerPlatforms(host: Platform): Platform[] {
  const report = emulationReport([...knownPlatforms]);
  const ok = report.filter((r) => r.status !== 'unavailable').map((r) => parsePlatform(r.platform));
  return orderWorkerPlatforms(host, ok);
}

/** The worker labels BuildKit reports, with this engine's values. */
function workerLabels(): Record<string, string> {
  return {
    'org.mobyproject.buildkit.worker.executor': 'oci',
    'org.mobyproject.buildkit.worker.hostname': hostname(),
    'org.mobyproject.buildkit.worker.network': 'host',
    'org.mobyproject.buildkit.worker.oci.process-mode': 'sandbox',
    'org.mobyproject.buildkit.worker.selinux.enabled': 'false',
    'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs',
  };
}

/**
 * A local node of a builder, as `ls` and `inspect` show it: before the builder booted, only
 * what was configured.
 */
export function nodeInfo(b: Builder, node: BuilderNodeRecord, opts: NodeInfoOptions): NodeInfo {
  const configured = node.platforms.map((p) => parsePlatform(p));
  const base = {
    name: node.name,
    driver: node.driver,
    endpoint: node.endpoint,
    status: b.status,
    ...(node.driverOpts ? { driverOpts: node.driverOpts } : {}),
  };
  if (b.status !== 'running') {
    return { ...base, version: '', platforms: formatInGroups(configured), labels: {} };
  }
  const detected = (opts.supported ?? (() => workerPlatforms(opts.host)))();
  return {
    ...base,
    version: polyarchVersion,
    platforms: formatInGroups(configured, detected),
    labels: workerLabels(),
  };
}
