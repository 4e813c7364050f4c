/**
 * dockerfile/instructions/mount — `RUN --mount=type=…,…` specs (BuildKit's
 * commands_runmount.go): every type (bind, cache, tmpfs, secret, ssh) and option, with the
 * same defaults and checks. Values are expanded by the caller's expander first, as at dispatch.
 */
import { csvRecord, parseByteSize, parseGoBool } from '../../goparse.js';
import { withSuggestion } from './suggest.js';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type ShareMode = 'shared' | 'private' | 'locked';

const mountTypes: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const shareModes: readonly ShareMode[] = ['shared', 'private', 'locked'];

export interface Mount {
  type: MountType;
  /** stage name/index or image to mount from ('' = the build context for bind, empty for cache) */
  from: string;
  source: string;
  target: string;
  readOnly: boolean;
  /** tmpfs size in bytes, 0 = unlimited */
  sizeLimit: number;
  /** cache id, or secret/ssh id */
  id: string;
  sharing: ShareMode | '';
  required: boolean;
  /** secret: the environment variable to expose it in; '' = default name */
  env: string | undefined;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
}

function parseUint(v: string, base: 8 | 10): number | undefined {
  const re = base === 8 ? /^[0-7]+$/ : /^\d+$/;
  if (!re.test(v)) return undefined;
  const n = Number.parseInt(v, base);
  return n <= 0xffffffff ? n : undefined;
}

const allKeys = [
  'type',
  'from',
  'source',
  'target',
  'readonly',
  'id',
  'sharing',
  'required',
  'size',
  'mode',
  'uid',
  'gid',
  'src',
  'dst',
  'destination',
  'ro',
  'rw',
  'readwrite',
  'env',
];

/**
 * Parses one `--mount` value. With `expand`, each `key=value` value is expanded first (as
 * BuildKit does at dispatch); without it, only what can be checked before expansion is.
 */
export function parseMount(value: string, expand?: (word: string) => string): Mount {
  let fields: string[];
  try {
    fields = csvRecord(value);
  } catch (err) {
    throw new Error(`failed to parse csv mounts: ${(err as Error).message}`);
  }
  const m: Mount = {
    type: 'bind',
    from: '',
    source: '',
    target: '',
    readOnly: false,
    sizeLimit: 0,
    id: '',
    sharing: '',
    required: false,
    env: undefined,
    mode: undefined,
    uid: undefined,
    gid: undefined,
  };
  let roAuto = true;
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase();
    let v = eq >= 0 ? field.slice(eq + 1) : '';
    if (eq < 0) {
      if (!expand) continue; // evaluated later
      switch (key) {
        case 'readonly':
        case 'ro':
          m.readOnly = true;
          roAuto = false;
          continue;
        case 'readwrite':
        case 'rw':
          m.readOnly = false;
          roAuto = false;
          continue;
        case 'required':
          if (m.type === 'secret' || m.type === 'ssh') {
            m.required = true;
            continue;
          }
          throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        default:
          throw new Error(`invalid field '${field}' must be a key=value pair`);
      }
    }
    if (expand) {
      v = expand(v);
    } else {
      // before expansion only `from` is read (it picks the stage dependency)
      if (key === 'from') {
        const idx = v.indexOf('$');
        if (idx !== -1 && idx !== v.length - 1) {
          throw new Error(`'${key}' doesn't support variable expansion, define alias stage instead`);
        }
        m.from = v;
      }
      continue;
    }
    switch (key) {
      case 'type': {
        const t = v.toLowerCase() as MountType;
        if (!mountTypes.includes(t)) {
          throw new Error(withSuggestion(`unsupported mount type "${v}"`, v, mountTypes, true));
        }
        m.type = t;
        break;
      }
      case 'from':
        m.from = v;
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v;
        break;
      case 'readonly':
      case 'ro': {
        const b = parseGoBool(v);
        if (b === undefined) throw new Error(`invalid value for ${key}: ${v}`);
        m.readOnly = b;
        roAuto = false;
        break;
      }
      case 'readwrite':
      case 'rw': {
        const b = parseGoBool(v);
        if (b === undefined) throw new Error(`invalid value for ${key}: ${v}`);
        m.readOnly = !b;
        roAuto = false;
        break;
      }
      case 'required': {
        if (m.type !== 'secret' && m.type !== 'ssh') {
          throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        }
        const b = parseGoBool(v);
        if (b === undefined) throw new Error(`invalid value for ${key}: ${v}`);
        m.required = b;
        break;
      }
      case 'size': {
        if (m.type !== 'tmpfs') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        const n = parseByteSize(v);
        if (n === undefined) throw new Error(`invalid value for ${key}: ${v}`);
        m.sizeLimit = n;
        break;
      }
      case 'id':
        m.id = v;
        break;
      case 'sharing': {
        const s = v.toLowerCase() as ShareMode;
        if (!shareModes.includes(s)) {
          throw new Error(withSuggestion(`unsupported sharing value "${v}"`, v, shareModes, true));
        }
        m.sharing = s;
        break;
      }
      case 'mode': {
        const n = parseUint(v, 8);
        if (n === undefined) throw new Error(`invalid value ${v} for mode`);
        m.mode = n;
        break;
      }
      case 'uid': {
        const n = parseUint(v, 10);
        if (n === undefined) throw new Error(`invalid value ${v} for uid`);
        m.uid = n;
        break;
      }
      case 'gid': {
        const n = parseUint(v, 10);
        if (n === undefined) throw new Error(`invalid value ${v} for gid`);
        m.gid = n;
        break;
      }
      case 'env':
        m.env = v;
        break;
      default:
        throw new Error(withSuggestion(`unexpected key '${key}' in '${field}'`, key, allKeys, true));
    }
  }
  if (!expand) return m;

  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  if (!fileInfoAllowed) {
    if (m.mode !== undefined) throw new Error(`mode not allowed for "${m.type}" type mounts`);
    if (m.uid !== undefined) throw new Error(`uid not allowed for "${m.type}" type mounts`);
    if (m.gid !== undefined) throw new Error(`gid not allowed for "${m.type}" type mounts`);
  }
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== '') throw new Error('secret mount should not have a from');
    if (m.sharing !== '') throw new Error('secret mount should not define sharing');
    if (m.source === '' && m.target === '' && m.id === '' && m.env === undefined) {
      throw new Error('invalid secret mount. one of source, target required');
    }
    if (m.source !== '' && m.id !== '') throw new Error("both source and id can't be set");
  }
  if (m.sharing !== '' && m.type !== 'cache')
    throw new Error(`invalid cache sharing set for ${m.type} mount`);
  return m;
}
