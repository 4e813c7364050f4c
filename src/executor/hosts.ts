/**
 * executor/hosts — the /etc/hosts and /etc/hostname a container gets (BuildKit's
 * `oci.GetHostsFile`): localhost with the container's hostname, the IPv6 loopback names, then
 * one line per `--add-host` entry. Pure.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import type { HostEntry } from './types.js';

/** BuildKit's hostname for build containers. */
export const defaultHostname = 'buildkitsandbox';

const hostnameRe = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/;
const hostRe = /^[^\s#]+$/;

/** Throws when `hostname` is not a valid host name (RFC 1123 labels, at most 255 characters). */
export function validateHostname(hostname: string): void {
  if (!hostnameRe.test(hostname) || hostname.split('.').some((l) => l === '' || l.length > 63)) {
    throw new InvalidArgumentError(`invalid hostname "${hostname}"`);
  }
}

/** Throws when an `--add-host` entry has no host name or a malformed IP address. */
function validateHostEntry(entry: HostEntry): void {
  if (!hostRe.test(entry.host))
    throw new InvalidArgumentError(`invalid host name "${entry.host}" in --add-host`);
  if (isIP(entry.ip) === 0) {
    throw new InvalidArgumentError(`invalid IP address "${entry.ip}" for host "${entry.host}" in --add-host`);
  }
}

/** The /etc/hosts content. */
export function hostsFile(hostname: string, extraHosts: readonly HostEntry[] = []): string {
  let out = `127.0.0.1\tlocalhost ${hostname || defaultHostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
  for (const h of extraHosts) {
    validateHostEntry(h);
    out += `${h.ip}\t${h.host}\n`;
  }
  return out;
}

/** The /etc/hostname content. */
export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}
