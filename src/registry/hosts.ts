/**
 * registry/hosts — from a reference's domain to where and how to talk to it. Pure.
 *
 * - `docker.io` is served by `registry-1.docker.io`, and its credentials are stored under
 *   `https://index.docker.io/v1/` (docker's legacy key).
 * - Plain HTTP (and TLS without verification) is allowed only for `localhost`, `127.0.0.0/8`,
 *   `::1`, and the hosts named insecure: the `insecureRegistries` option of the client, which
 *   the CLI fills from `$POLYARCH_INSECURE_REGISTRIES` (comma-separated `host[:port]`; a bare
 *   host covers every port). Everything else is HTTPS with verified certificates. Loopback
 *   registries are tried over plain HTTP first (pingSchemes).
 */
import { defaultDomain } from '../reference/index.js';

export const dockerHubRegistryHost = 'registry-1.docker.io';
export const dockerHubCredentialKey = 'https://index.docker.io/v1/';
export const insecureRegistriesEnv = 'POLYARCH_INSECURE_REGISTRIES';

/** The host:port to send requests to for a reference domain. */
export function endpointHost(domain: string): string {
  return domain === defaultDomain ? dockerHubRegistryHost : domain;
}

/** The key of a registry in docker's config.json `auths` and in credential helpers. */
export function credentialKey(domain: string): string {
  return domain === defaultDomain || domain === 'index.docker.io' || domain === dockerHubRegistryHost
    ? dockerHubCredentialKey
    : domain;
}

/**
 * Normalises what a user typed as a server (`https://host:5000/v2/`, `host:5000`, `docker.io`)
 * to the domain of references (docker's ConvertToHostname, with docker.io for Docker Hub).
 */
export function normalizeServer(server: string): string {
  let s = server.trim();
  s = s.replace(/^[a-z]+:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  if (s === '' || s === 'index.docker.io' || s === dockerHubRegistryHost || s === 'docker.io')
    return defaultDomain;
  return s.toLowerCase();
}

/** Splits `host:port` / `[v6]:port` into host and port (port may be empty). */
export function splitHostPort(hostport: string): { host: string; port: string } {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    return { host: hostport.slice(1, end), port: hostport.slice(end + 2) };
  }
  const i = hostport.lastIndexOf(':');
  if (i >= 0 && hostport.indexOf(':') === i)
    return { host: hostport.slice(0, i), port: hostport.slice(i + 1) };
  return { host: hostport, port: '' };
}

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** True when plain HTTP (and unverified TLS) is allowed for this registry. */
export function allowsInsecure(domain: string, insecure: readonly string[]): boolean {
  const { host } = splitHostPort(domain);
  if (isLoopback(host)) return true;
  const d = domain.toLowerCase();
  return insecure.some((entry) => {
    const e = entry.trim().toLowerCase();
    if (e === '') return false;
    return e === d || (splitHostPort(e).port === '' && e === host.toLowerCase());
  });
}

/**
 * The schemes to try for a registry, in order: a loopback one plain HTTP first, as BuildKit
 * speaks to localhost, then HTTPS (a registry there may serve TLS); an insecure one HTTPS,
 * then plain HTTP, as Docker does; any other HTTPS only.
 */
export function pingSchemes(domain: string, insecure: readonly string[]): ('http' | 'https')[] {
  if (isLoopback(splitHostPort(domain).host)) return ['http', 'https'];
  return allowsInsecure(domain, insecure) ? ['https', 'http'] : ['https'];
}

/** Parses `$POLYARCH_INSECURE_REGISTRIES`. */
export function parseInsecureList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => normalizeServer(s))
    .filter((s) => s !== '' && s !== defaultDomain);
}
