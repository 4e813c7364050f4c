/**
 * executor/resolvconf — the /etc/resolv.conf a container gets, derived from the host's as
 * BuildKit (`oci.GetResolvConf`) and libnetwork's `resolvconf.FilterResolvDNS` do it.
 *
 * With host networking the host's file is used as is (its localhost resolvers are reachable).
 * Otherwise nameservers on 127.0.0.0/8 and ::1 are dropped, since they mean nothing in a new
 * network namespace, and when none is left Google's public resolvers are added. The same
 * filtering applies to host networking when the host file names no nameserver at all.
 *
 * `containerResolvConf` is pure; `hostResolvConfPath` picks the host file, following
 * systemd-resolved's stub (127.0.0.53) to the real upstream list as libnetwork does.
 */
import { readFileSync } from 'node:fs';
import type { RuntimeNetwork } from './types.js';

const defaultIPv4Dns = ['nameserver 8.8.8.8', 'nameserver 8.8.4.4'];
const defaultIPv6Dns = ['nameserver 2001:4860:4860::8888', 'nameserver 2001:4860:4860::8844'];

const ipv4Block = '(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)';
const ipv4Address = `(${ipv4Block}\\.){3}${ipv4Block}`;
// a superset of IPv6, as libnetwork's own pattern
const ipv6Address = '([0-9A-Fa-f]{0,4}:){2,7}([0-9A-Fa-f]{0,4})(%\\w+)?';
const localhostNS = /^nameserver\s+((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1)$)\s*\n*/gm;
const nameserverLine = new RegExp(`^\\s*nameserver\\s*((${ipv4Address})|(${ipv6Address}))\\s*$`);

/** The nameservers a resolv.conf lists (comments stripped). */
export function nameservers(content: string): string[] {
  const out: string[] = [];
  for (const raw of content.split('\n')) {
    const hash = raw.indexOf('#');
    const line = hash >= 0 ? raw.slice(0, hash) : raw;
    const m = nameserverLine.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** The resolv.conf for a container with `network`, from the host's content. */
export function containerResolvConf(host: string, network: RuntimeNetwork): string {
  if (network === 'host' && nameservers(host).length > 0) return host;
  let cleaned = host.replace(localhostNS, '');
  if (nameservers(cleaned).length === 0) {
    cleaned += `\n${[...defaultIPv4Dns, ...defaultIPv6Dns].join('\n')}`;
  }
  return cleaned;
}

/**
 * The host file to start from: /etc/resolv.conf, or systemd-resolved's upstream list when
 * /etc/resolv.conf only points at its local stub and the container has its own network.
 */
export function hostResolvConfPath(network: RuntimeNetwork, etcResolvConf = '/etc/resolv.conf'): string {
  if (network === 'host') return etcResolvConf;
  try {
    const ns = nameservers(readFileSync(etcResolvConf, 'utf8'));
    if (ns.length === 1 && ns[0] === '127.0.0.53') return '/run/systemd/resolve/resolv.conf';
  } catch {
    // unreadable: the caller reads it again and reports
  }
  return etcResolvConf;
}
