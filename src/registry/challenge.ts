/**
 * registry/challenge — `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 *
 *     Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
 *     Basic realm="Registry Realm"
 *
 * Pure. Several challenges may share one header; parameters may be quoted (with `\` escapes)
 * or tokens.
 */

export interface Challenge {
  /** lower-case: `bearer`, `basic` */
  scheme: string;
  /** parameter names lower-cased */
  params: Record<string, string>;
}

/** Parses one or more header values into challenges, in order. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const v of values) out.push(...parseOne(v));
  return out;
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = s.length;
  const skipWs = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z/]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const word = token();
    if (word === '') {
      i++;
      continue;
    }
    skipWs();
    if (s[i] === '=' && current) {
      i++;
      skipWs();
      let value: string;
      if (s[i] === '"') {
        i++;
        value = '';
        while (i < n && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < n) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        // lenient: registries send unquoted URLs (`realm=https://…`)
        const start = i;
        while (i < n && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
        value = s.slice(start, i);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** The scopes a bearer challenge asks for (`scope` may hold several, space-separated). */
export function challengeScopes(ch: Challenge): string[] {
  return (ch.params['scope'] ?? '').split(' ').filter((x) => x !== '');
}

/** `repository:<path>:<actions>` */
export function repositoryScope(path: string, actions: readonly string[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

/**
 * Merges scopes: actions of the same resource are joined (`repository:a:pull` +
 * `repository:a:push` → `repository:a:pull,push`). Sorted, for cache keys.
 */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes) {
    const i = s.lastIndexOf(':');
    if (i < 0) continue;
    const resource = s.slice(0, i);
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of s.slice(i + 1).split(',')) if (a) set.add(a);
    byResource.set(resource, set);
  }
  return [...byResource.entries()].map(([r, actions]) => `${r}:${[...actions].sort().join(',')}`).sort();
}
