/**
 * exporter/attestfiles — attestations in a file tree output (`type=local`, `type=tar`), as
 * BuildKit's local exporter writes them: each statement a file next to the tree (its name
 * from the attestation's path: `provenance.json`, `sbom.spdx.json`; with the platform before
 * the extension when several platforms share one tree), about every regular file of the tree
 * (subject = its path and sha256), indented JSON, mode 0600.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { statementOf } from '../attest/layout.js';
import type { Attestation, InTotoSubject } from '../attest/types.js';
import { InvalidArgumentError } from '../errors.js';
import { goJSON } from '../oci/json.js';

/** Every regular file under `dir`, in Go's WalkDir order, with its sha256. */
async function fileSubjects(dir: string, rel = ''): Promise<InTotoSubject[]> {
  const out: InTotoSubject[] = [];
  const entries = (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) =>
    Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await fileSubjects(dir, path)));
    else if (e.isFile()) out.push({ name: path, digest: { sha256: await sha256File(join(dir, path)) } });
  }
  return out;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The file name of an attestation in a tree: `name.linux_arm64.json` when platforms share the tree. */
function fileName(a: Attestation, platformSuffix: string | undefined): string {
  const name = basename(a.path ?? `${a.predicateType.split('/').at(-2) ?? 'attestation'}.json`);
  if (!platformSuffix) return name;
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)}.${platformSuffix}${ext}`;
}

/**
 * Writes the statements into `dir` about the files already there. `platformSuffix` goes into
 * the names when several platforms' trees are laid over each other; `mtime` (seconds) dates them.
 */
export async function writeAttestationFiles(
  dir: string,
  attestations: readonly Attestation[],
  opts: { platformSuffix?: string; mtime?: number },
): Promise<void> {
  if (!attestations.length) return;
  const subjects = await fileSubjects(dir);
  const names = new Set<string>();
  for (const a of attestations) {
    const name = fileName(a, opts.platformSuffix);
    if (names.has(name)) throw new InvalidArgumentError(`duplicate attestation path name ${name}`);
    names.add(name);
    const text = goJSON(statementOf(a, subjects), '  ');
    await writeFile(join(dir, name), text, { mode: 0o600 });
    if (opts.mtime !== undefined) await utimes(join(dir, name), opts.mtime, opts.mtime);
  }
}
