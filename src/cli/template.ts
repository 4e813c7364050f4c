/**
 * cli/template — the part of Go's text/template that `--format` values use: text with
 * `{{ … }}` actions, each a field path (`.`, `.Name`, `.Provenance.SLSA`), `index X "key"`
 * (map keys with slashes: `index .Provenance "linux/arm64"`), and `json X` (buildx's func:
 * json.MarshalIndent with two spaces, HTML characters escaped as Go does). Fields missing
 * from the input fail as Go's do, naming the field. Pure.
 */
import { InvalidArgumentError } from '../errors.js';
import { goJSON } from '../oci/json.js';

type Value = unknown;

/** What `json` made: printed as it is. */
class JSONText {
  constructor(readonly text: string) {}
}

/** Executes `format` against `input`; throws naming the action that cannot be evaluated. */
export function executeTemplate(format: string, input: Record<string, Value>, typeName: string): string {
  let out = '';
  let rest = format;
  while (rest.length) {
    const open = rest.indexOf('{{');
    if (open < 0) return out + rest;
    out += rest.slice(0, open);
    const close = rest.indexOf('}}', open);
    if (close < 0) throw new InvalidArgumentError(`template: unclosed action in "${format}"`);
    let body = rest.slice(open + 2, close);
    const trimBefore = /^-\s/.test(body);
    const trimAfter = /\s-$/.test(body);
    body = body.replace(/^-\s/, '').replace(/\s-$/, '').trim();
    if (trimBefore) out = out.trimEnd();
    out += print(evaluate(tokenize(body), input, typeName, body));
    rest = rest.slice(close + 2);
    if (trimAfter) rest = rest.trimStart();
  }
  return out;
}

/** Go's json.MarshalIndent(v, "", "  "). */
export function goJSONIndent(v: Value): string {
  return goJSON(v ?? null, '  ');
}

function tokenize(s: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|\(|\)|[^\s()]+)/gy;
  let m: RegExpExecArray | null = re.exec(s);
  while (m) {
    tokens.push(m[1]!);
    m = re.exec(s);
  }
  return tokens;
}

function evaluate(tokens: string[], input: Record<string, Value>, typeName: string, action: string): Value {
  let pos = 0;
  const fail = (why: string) => new InvalidArgumentError(`template: executing "" at <${action}>: ${why}`);
  const term = (): Value => {
    const t = tokens[pos++];
    if (t === undefined) throw fail('missing value');
    if (t === '(') {
      const v = command();
      if (tokens[pos++] !== ')') throw fail('unclosed parenthesis');
      const chain = tokens[pos];
      if (chain?.startsWith('.') && chain !== '.') {
        pos++;
        return field(v, chain, typeName, fail);
      }
      return v;
    }
    if (t.startsWith('"')) return JSON.parse(t) as string;
    if (t.startsWith('.')) return field(input, t, typeName, fail);
    throw fail(`function "${t}" not defined`);
  };
  const command = (): Value => {
    const t = tokens[pos];
    if (t === 'json') {
      pos++;
      return new JSONText(goJSONIndent(term()));
    }
    if (t === 'index') {
      pos++;
      const m = term();
      const k = term();
      if (m === null || typeof m !== 'object') throw fail('index of untyped nil');
      return (m as Record<string, Value>)[String(k)];
    }
    return term();
  };
  const v = command();
  if (pos !== tokens.length) throw fail(`unexpected "${tokens[pos]}"`);
  return v;
}

function field(input: Value, path: string, typeName: string, fail: (why: string) => Error): Value {
  if (path === '.') return input;
  let v: Value = input;
  for (const name of path.slice(1).split('.')) {
    if (v === null || typeof v !== 'object' || !(name in (v as object))) {
      if (v === input) throw fail(`can't evaluate field ${name} in type ${typeName}`);
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'object') return undefined;
      throw fail(`can't evaluate field ${name}`);
    }
    v = (v as Record<string, Value>)[name];
  }
  return v;
}

/** How an action's value prints: json output as is, strings bare, the rest as Go's %v would roughly. */
function print(v: Value): string {
  if (v instanceof JSONText) return v.text;
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return goJSONIndent(v);
  return String(v);
}
