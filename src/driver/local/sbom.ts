/**
 * driver/local/sbom — `--sbom` on the local engine: the scanner image resolved once for the
 * build platform when the share is planned (a missing generator stops the build before any
 * step runs), one scan step per target platform solved with the build, and what each wrote
 * read back as that platform's statements. Every failure is one message naming the generator
 * and the platform (attest/sbom scanFailure).
 *
 * What is scanned besides the target comes from the conversion (graph/dispatch/sbom), which
 * reads BUILDKIT_SBOM_SCAN_CONTEXT / _STAGE where BuildKit does: SBOMRequest.scanContext and
 * scanStages are not read here (a `--build-arg` that no ARG declares changes nothing in BuildKit).
 */
import { sbomScanner, scanFailure, scanVertex } from '../../attest/sbom.js';
import { readBundle } from '../../attest/sbombundle.js';
import type { Attestation, SBOMRequest } from '../../attest/types.js';
import { BuildError, StoreError } from '../../errors.js';
import type { ConvertResult, ResolvedImage } from '../../graph/convert.js';
import type { Vertex } from '../../graph/ops.js';
import { type Result, type Solver, VertexError } from '../../graph/solver.js';
import type { Platform } from '../../platforms/index.js';
import type { Worker } from '../../worker/worker.js';

/** One target platform's scan step. */
export interface PlannedScan {
  platform: Platform;
  vertex: Vertex;
}

/** The scan step of each graph, in their order; throws when the generator cannot be used. */
export async function planScans(
  request: SBOMRequest,
  graphs: readonly ConvertResult[],
  opts: {
    buildPlatform: Platform;
    resolveImage: (ref: string, platform: Platform) => Promise<ResolvedImage>;
  },
): Promise<PlannedScan[]> {
  let scanner: ReturnType<typeof sbomScanner>;
  try {
    scanner = sbomScanner(
      request,
      await opts.resolveImage(request.generator, opts.buildPlatform),
      opts.buildPlatform,
    );
  } catch (err) {
    // the scanner image cannot be had: say how to pick another (buildx's generator= attribute)
    throw scanFailure(
      request.generator,
      opts.buildPlatform,
      err,
      'name a scanner image this host can pull with --attest type=sbom,generator=IMAGE',
    );
  }
  return graphs.map((g) => ({
    platform: g.platform,
    vertex: scanVertex(scanner, g.platform, g.vertex, g.sbom),
  }));
}

/** Solves the scans (with the build they scan) and reads each one's statements. */
export function solveScans(
  w: Worker,
  solver: Solver,
  request: SBOMRequest,
  scans: readonly PlannedScan[],
): Promise<Attestation[][]> {
  return Promise.all(
    scans.map(async (s) => {
      let result: Result;
      try {
        result = await solver.solve(s.vertex);
      } catch (err) {
        // a failure of what it scans is that step's own, reported as such
        if (err instanceof VertexError && err.vertex === s.vertex)
          throw scanFailure(request.generator, s.platform, err);
        throw err;
      }
      try {
        return await readBundle(await outputDir(w, result));
      } catch (err) {
        throw scanFailure(request.generator, s.platform, err);
      }
    }),
  );
}

/** The directory holding what a scan wrote. */
async function outputDir(w: Worker, r: Result): Promise<string> {
  const top = r.kind === 'layers' ? r.layers.at(-1) : undefined;
  if (!top) throw new BuildError('the scanner wrote no in-toto statement to /run/out');
  const snap = await w.snapshots.get(top.snapshot);
  if (!snap)
    throw new StoreError(`snapshot ${top.snapshot} was removed while the build used it; run the build again`);
  return snap.dir;
}
