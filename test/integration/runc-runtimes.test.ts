/**
 * The executor with a chosen OCI runtime: runc with its own state root, and crun, which refuses
 * hosts whose cgroups are in hybrid mode (1.8.1 on Debian 12 does): the executor must say so clearly.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ExecError } from '../../src/errors.js';
import { Executor } from '../../src/executor/index.js';
import { haveCommand } from '../helpers/fixtures.js';
import { busyboxRootfs, listTree, mountOverlay, type Overlay, scratchDir } from './executor-fixtures.js';

let ovl: Overlay;

before(() => {
  ovl = mountOverlay(busyboxRootfs('linux/amd64'));
});
after(() => ovl.unmount());

/** Hybrid: cgroup v1 controllers under /sys/fs/cgroup plus a cgroup2 mount with controllers. */
function hostCgroupsHybrid(): boolean {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const v1 = mounts.some((l) => / - cgroup cgroup /.test(l));
  const v2 = mounts.find((l) => / - cgroup2 /.test(l));
  if (!v1 || !v2) return false;
  const dir = v2.split(' ')[4]!;
  return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim() !== '';
}

describe('OCI runtimes', () => {
  test('runc with its own state root leaves no container there', async () => {
    const root = scratchDir('runc-root-');
    const ex = new Executor({ stateDir: scratchDir('state-'), runtime: { name: 'runc', root } });
    let out = '';
    const r = await ex.run({ rootfs: ovl.merged, args: ['echo', 'hello'], stdout: (b) => (out += b) });
    assert.equal(r.exitCode, 0);
    assert.equal(out, 'hello\n');
    assert.equal(execFileSync('runc', ['--root', root, 'list', '-q'], { encoding: 'utf8' }), '');
  });

  test('a missing runtime binary is a clear ExecError', async () => {
    const fresh = mountOverlay(busyboxRootfs('linux/amd64'));
    try {
      const ex = new Executor({
        stateDir: scratchDir('state-'),
        runtime: { name: 'runc', binary: '/nonexistent/runc' },
      });
      await assert.rejects(ex.run({ rootfs: fresh.merged, args: ['true'] }), {
        name: 'ExecError',
        message: 'starting the OCI runtime /nonexistent/runc: not found; install it (apt-get install runc)',
      });
      assert.deepEqual(listTree(fresh.upper), [], 'no stubs left either');
    } finally {
      fresh.unmount();
    }
  });

  test('crun runs, or says clearly that it cannot on hybrid cgroups', async () => {
    assert.ok(haveCommand('crun'), 'crun is installed (scripts/setup.sh --test)');
    const ex = new Executor({ stateDir: scratchDir('state-'), runtime: { name: 'crun' } });
    const run = ex.run({ rootfs: ovl.merged, args: ['true'] });
    if (hostCgroupsHybrid()) {
      await assert.rejects(run, (err: unknown) => {
        assert.ok(err instanceof ExecError);
        assert.match(
          err.message,
          /crun cannot run containers on this host: cgroups in hybrid mode not supported/,
        );
        assert.match(err.message, /"hybrid" mode\), which crun does not support; use runc instead/);
        return true;
      });
    } else {
      assert.equal((await run).exitCode, 0);
    }
  });
});
