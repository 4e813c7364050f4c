/**
 * builder/names — builder instance names: buildx's rule (a letter, then letters, digits and
 * `._-`; stored lower-case), the reserved `default`, and a generated `adjective_name` when
 * `create` is given none (docker's namesgenerator style). Pure: randomness is passed in.
 */
import { InvalidArgumentError } from '../errors.js';

/** The builder that exists without being created: this machine, state in `<root>/cache`. */
export const defaultBuilderName = 'default';

const namePattern = /^[a-zA-Z][a-zA-Z0-9._-]*$/;

/** True for a name buildx accepts (any case). */
export function isBuilderName(name: string): boolean {
  return namePattern.test(name);
}

/** Checks a name and answers it lower-cased, as buildx's store.ValidateName does. */
export function validateBuilderName(name: string): string {
  if (!isBuilderName(name)) {
    throw new InvalidArgumentError(
      `invalid name ${name}, name needs to start with a letter and may not contain symbols, except ._-`,
    );
  }
  return name.toLowerCase();
}

const left = [
  'admiring',
  'brave',
  'busy',
  'clever',
  'dazzling',
  'eager',
  'elated',
  'focused',
  'gifted',
  'happy',
  'jolly',
  'keen',
  'nifty',
  'quirky',
  'relaxed',
  'serene',
  'stoic',
  'vibrant',
  'wizardly',
  'zealous',
];
const right = [
  'babbage',
  'curie',
  'darwin',
  'einstein',
  'feynman',
  'galileo',
  'hopper',
  'kepler',
  'lamarr',
  'lovelace',
  'meitner',
  'newton',
  'noether',
  'pascal',
  'ritchie',
  'shannon',
  'tesla',
  'thompson',
  'turing',
  'wozniak',
];

/** A fresh `adjective_scientist` name; `random()` answers a number in [0, 1). */
export function generateBuilderName(random: () => number = Math.random): string {
  const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)]!;
  return `${pick(left)}_${pick(right)}`;
}
