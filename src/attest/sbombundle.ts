/**
 * attest/sbombundle — what an SBOM scanner wrote into `/run/out`, read as BuildKit's exporter
 * unbundles it (exporter/attestation/unbundle.go): every entry is one in-toto statement in its
 * own regular file, named by the scanner (`sbom.spdx.json`); the core scan (`sbom.*`) comes
 * first, then the others by name.
 *
 * Stricter than BuildKit where a silent result would mislead: a scanner that wrote nothing is
 * an error (BuildKit attaches no SBOM), as is a statement without a predicate type. Symbolic
 * links are refused rather than followed (they would point into this machine, not the image).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import type { Attestation } from './types.js';

/** BuildKit's maxAttestationBytes: a statement file larger than this is refused. */
export const maxStatementBytes = 40 << 20;

/** The scan name of the target itself (BuildKit's CoreSBOMName). */
const coreName = 'sbom';

/** The statements in a scanner's output directory, core first. */
export async function readBundle(dir: string): Promise<Attestation[]> {
  const names = (await readdir(dir)).sort();
  if (names.length === 0) throw new BuildError('the scanner wrote no in-toto statement to /run/out');
  const out: Attestation[] = [];
  for (const name of names) out.push(await readStatementFile(join(dir, name), name));
  const isCore = (a: Attestation) => (a.path ?? '').split('.')[0] === coreName;
  return [...out.filter(isCore), ...out.filter((a) => !isCore(a))];
}

async function readStatementFile(path: string, name: string): Promise<Attestation> {
  const st = await lstat(path);
  if (!st.isFile()) throw new BuildError(`${name} is not a regular file`);
  if (st.size > maxStatementBytes) throw new BuildError(`${name} exceeds ${maxStatementBytes} bytes`);
  return parseStatement(await readFile(path, 'utf8'), name);
}

/** One statement file's text → the attestation it carries (its subject is the exporter's). */
export function parseStatement(text: string, name: string): Attestation {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new BuildError(`${name}: cannot decode in-toto statement: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new BuildError(`${name}: in-toto statement is not a single JSON object`);
  }
  const { predicateType, predicate } = v as { predicateType?: unknown; predicate?: unknown };
  if (typeof predicateType !== 'string' || predicateType === '') {
    throw new BuildError(`${name}: in-toto statement has no predicateType`);
  }
  if (predicateType.startsWith('https://slsa.dev/provenance/')) {
    throw new BuildError(`${name}: a scanner may not write provenance attestations`);
  }
  return { predicateType, predicate: predicate ?? null, path: name };
}
