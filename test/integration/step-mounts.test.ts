/**
 * worker/mounts on a real snapshot store: another stage's result mounted as a read-only view
 * once however often it is asked for, a view asked for early (`prefetch`) and then used, and a
 * release that comes while a view is still being mounted leaving no mount and no directory.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Result } from '../../src/graph/solver.js';
import { mountsUnder, SnapshotStore } from '../../src/snapshot/index.js';
import { StepMounts } from '../../src/worker/mounts.js';
import type { Worker } from '../../src/worker/worker.js';
import { tempDir } from '../helpers/fixtures.js';
import { requireRoot } from './snapshot-helpers.js';

const work = tempDir('polyarch-stepmounts-');
let worker: Worker;
let stage: Result;

before(async () => {
  requireRoot();
  const snapshots = await SnapshotStore.open({ root: join(work, 'root') });
  // StepMounts uses the worker's snapshot store and scratch directory, nothing else
  worker = { snapshots, tmpDir: join(work, 'root', 'tmp') } as Worker;
  const a = await snapshots.prepare(undefined);
  writeFileSync(join(a.merged, 'hello'), 'from the other stage');
  const snap = await snapshots.commit(a);
  stage = { kind: 'layers', layers: [{ snapshot: snap.id }] };
});

describe('step mounts', () => {
  test('a prefetched view is the one the step reads, mounted once', async () => {
    const m = new StepMounts(worker);
    m.prefetch([stage, stage]);
    const dir = await m.view(stage);
    assert.equal(await m.view(stage), dir);
    assert.equal(readFileSync(join(dir, 'hello'), 'utf8'), 'from the other stage');
    assert.equal(mountsUnder(worker.tmpDir).length, 1);
    await m.release();
    assert.deepEqual(mountsUnder(worker.tmpDir), []);
    assert.deepEqual(readdirSync(worker.tmpDir), []);
  });

  test('a release while a view is being mounted leaves no mount and no directory', async () => {
    const m = new StepMounts(worker);
    m.prefetch([stage]);
    const first = m.release();
    assert.equal(m.release(), first, 'one release, later calls wait for it');
    await first;
    assert.deepEqual(mountsUnder(worker.tmpDir), []);
    assert.deepEqual(readdirSync(worker.tmpDir), []);
    await assert.rejects(m.view(stage), /after the step released its mounts/);
  });

  test('a view of a missing snapshot fails when asked for, not when prefetched', async () => {
    const m = new StepMounts(worker);
    const gone: Result = { kind: 'layers', layers: [{ snapshot: '000000000000' }] };
    m.prefetch([gone]);
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(m.view(gone), /snapshot 000000000000 is missing from the store/);
    await m.release();
    assert.deepEqual(readdirSync(worker.tmpDir), []);
  });
});
