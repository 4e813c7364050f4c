/**
 * dockerfile/instructions/bflags — the `--flag[=value]` words of one instruction checked
 * against the flags it accepts (BuildKit's BFlags): bool, string and repeatable strings.
 */
import { withSuggestion } from './suggest.js';

type FlagType = 'bool' | 'string' | 'strings';

/** A flag error: `message` plus the flag word it is about (to locate it in the line). */
export class FlagError extends Error {
  constructor(
    message: string,
    readonly flag: string,
  ) {
    super(message);
  }
}

export class Flag {
  value = '';
  values: string[] = [];
  used = false;
  constructor(
    readonly name: string,
    readonly type: FlagType,
  ) {}
  isTrue(): boolean {
    return this.value === 'true';
  }
}

export class BFlags {
  private readonly flags = new Map<string, Flag>();
  readonly used: string[] = [];

  constructor(private readonly args: readonly string[]) {}

  private add(name: string, type: FlagType): Flag {
    const f = new Flag(name, type);
    this.flags.set(name, f);
    return f;
  }
  addBool(name: string, def = false): Flag {
    const f = this.add(name, 'bool');
    f.value = def ? 'true' : 'false';
    return f;
  }
  addString(name: string, def = ''): Flag {
    const f = this.add(name, 'string');
    f.value = def;
    return f;
  }
  addStrings(name: string): Flag {
    return this.add(name, 'strings');
  }

  /** Checks the words against the declared flags and sets their values. */
  parse(): void {
    for (const word of this.args) {
      if (!word.startsWith('--')) throw new FlagError(`Arg should start with -- : ${word}`, word);
      if (word === '--') return;
      let name = word.slice(2);
      let value = '';
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const flag = this.flags.get(name);
      if (!flag) {
        throw new FlagError(
          withSuggestion(`unknown flag: --${name}`, name, [...this.flags.keys()], true),
          word,
        );
      }
      if (flag.used && flag.type !== 'strings') {
        throw new FlagError(`Duplicate flag specified: --${name}`, word);
      }
      flag.used = true;
      this.used.push(name);
      switch (flag.type) {
        case 'bool': {
          if (eq >= 0 && value === '') throw new FlagError(`Missing a value on flag: --${name}`, word);
          const lower = value.toLowerCase();
          if (lower === '') flag.value = 'true';
          else if (lower === 'true' || lower === 'false') flag.value = lower;
          else throw new FlagError(`Expecting boolean value for flag ${name}, not: ${value}`, word);
          break;
        }
        case 'string':
          if (eq < 0) throw new FlagError(`Missing a value on flag: --${name}`, word);
          flag.value = value;
          break;
        case 'strings':
          if (eq < 0) throw new FlagError(`Missing a value on flag: --${name}`, word);
          flag.values.push(value);
          break;
      }
    }
  }
}
