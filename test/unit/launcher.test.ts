/**
 * snapshot/launcher and snapshot/tools — programs started by the long-lived shell get exactly
 * the arguments, working directory and output a direct spawn would; they run side by side; a
 * missing program, a lost shell and a line that cannot travel each end as they should.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StoreError } from '../../src/errors.js';
import { carries, Launcher, pidNamespace, removeStaleDirs, shellQuote } from '../../src/snapshot/launcher.js';
import { run, runChecked } from '../../src/snapshot/tools.js';
import { repoRoot, tempDir } from '../helpers/fixtures.js';

/**
 * This process's launcher directories in the temporary directory. Only its own: the test
 * runner runs other test files beside this one, each with launchers of its own.
 */
function ownLauncherDirs(): Set<string> {
  const mine = new RegExp(`^polyarch-launch-\\d+-${process.pid}-`);
  return new Set(readdirSync(tmpdir()).filter((n) => mine.test(n)));
}

describe('the program launcher', () => {
  test('arguments arrive literally: quotes, $, backticks, globs, spaces, empty strings', async () => {
    const args = [`it's`, '$HOME', '`id`', '*', ' two  spaces ', '', '\\n', '"q"', ';exit 3', '$(id)'];
    const r = await run('printf', ['%s|', ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), `${args.join('|')}|`);
  });

  test('working directory, exit status, stderr and a large stdout come back', async () => {
    const dir = tempDir();
    const r = await run('sh', ['-c', 'pwd; head -c 3000000 /dev/zero; echo oops >&2; exit 7'], { cwd: dir });
    assert.equal(r.code, 7);
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.stdout.subarray(0, dir.length + 1).toString(), `${dir}\n`);
    assert.equal(r.stdout.length, dir.length + 1 + 3_000_000);
    const quiet = await run('echo', ['x'], { captureStdout: false });
    assert.equal(quiet.stdout.length, 0);
    const nowhere = await run('true', [], { cwd: join(dir, 'missing') });
    assert.notEqual(nowhere.code, 0, 'a working directory that is not there fails the run');
  });

  test('programs run side by side: one waits for what the next one writes', async () => {
    const fifo = join(tempDir(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = run('cat', [fifo]);
    const writer = run('sh', ['-c', `echo hello > '${fifo}'`]);
    assert.equal((await reader).stdout.toString(), 'hello\n');
    assert.equal((await writer).code, 0);
  });

  test('Ctrl-C reaches a launched program as it reaches a spawned one (SIGINT, SIGQUIT not ignored)', async () => {
    // a shell's background commands would ignore both, and outlive a build stopped with Ctrl-C
    const [a, b] = await Promise.all([
      run('grep', ['^SigIgn:', '/proc/self/status']),
      run('grep', ['^SigIgn:', '/proc/self/status']),
    ]);
    for (const r of [a!, b!]) {
      const mask = BigInt(`0x${r.stdout.toString().split(/\s+/)[1]}`);
      assert.equal(mask & 0x6n, 0n, r.stdout.toString());
    }
  });

  test('programs at once get shells of their own; no more than four stay idle after', async () => {
    const shells = () =>
      execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter((a) => a.includes('while IFS= read')).length;
    const others = shells(); // the shared launcher's, idle through this test
    const l = new Launcher();
    try {
      const rs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => l.run('sh', ['-c', `sleep 0.2; echo ${i}`])),
      );
      assert.deepEqual(
        rs.map((r) => r.stdout.toString()),
        Array.from({ length: 8 }, (_, i) => `${i}\n`),
      );
      for (let i = 0; i < 40 && shells() > others + 4; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(shells(), others + 4);
    } finally {
      l.close();
    }
  });

  test('a missing program is the error a direct spawn gives, naming the package', async () => {
    await assert.rejects(run('getfattr-not-here', []), (e: Error) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /^getfattr-not-here not found$/);
      return true;
    });
    await assert.rejects(
      runChecked('listing', '/nonexistent/bin/umount', []),
      /umount not found \(install the "mount" package\)/,
    );
  });

  test('a line that cannot travel (a newline in an argument) is spawned directly', async () => {
    assert.equal(carries('printf', ['a\nb']), false);
    assert.equal(carries('printf', ['a b'], '/tmp'), true);
    const r = await run('printf', ['%s', 'a\nb']);
    assert.equal(r.stdout.toString(), 'a\nb');
    await assert.rejects(new Launcher().run('printf', ['a\nb']), StoreError);
  });

  test('a shell that dies fails what was running, and the next run starts a new one', async () => {
    const l = new Launcher();
    try {
      const first = l.run('sleep', ['3']);
      const pid = l.pid;
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      await assert.rejects(first, /the program launcher \(\/bin\/sh\) exited \(SIGKILL\)/);
      const again = await l.run('echo', ['back']);
      assert.equal(again.stdout.toString(), 'back\n');
      assert.notEqual(l.pid, pid);
    } finally {
      l.close();
    }
  });

  test('a running program keeps the process alive; an idle shell does not', () => {
    // a process whose only pending work is a launched program waits for it, then exits
    const tools = join(repoRoot, 'dist', 'src', 'snapshot', 'tools.js');
    const script = `import(${JSON.stringify(tools)}).then(async ({ run }) => {
      const r = await run('sh', ['-c', 'sleep 0.3; echo slept']);
      process.stdout.write(r.stdout);
    });`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(out, 'slept\n');
  });

  test("a killed process's launcher directory is removed by the next launcher; live ones and other namespaces' stay", () => {
    const parent = tempDir();
    const dead = spawnSync('true').pid;
    const ns = pidNamespace();
    assert.match(ns, /^[1-9]\d*$/, 'the PID namespace is read from /proc/self/ns/pid');
    const names = {
      deadHere: `polyarch-launch-${ns}-${dead}-abc123`,
      liveHere: `polyarch-launch-${ns}-${process.pid}-def456`,
      // a pid that is not alive here may be a live process of another PID namespace
      deadElsewhere: `polyarch-launch-1${ns}-${dead}-ghi789`,
      legacyDead: `polyarch-launch-${dead}-jkl012`,
      legacyLive: `polyarch-launch-${process.pid}-mno345`,
      other: 'other-dir',
    };
    for (const name of Object.values(names)) {
      mkdirSync(join(parent, name));
      writeFileSync(join(parent, name, '0.e'), '');
    }
    removeStaleDirs(parent);
    assert.deepEqual(
      readdirSync(parent).sort(),
      [names.other, names.deadElsewhere, names.liveHere, names.legacyLive].sort(),
    );
  });

  test("a launcher's directory names its PID namespace and its pid", async () => {
    const before = ownLauncherDirs();
    const l = new Launcher();
    await l.run('true', []);
    const made = [...ownLauncherDirs()].filter((n) => !before.has(n));
    l.close();
    assert.equal(made.length, 1);
    assert.ok(made[0]!.startsWith(`polyarch-launch-${pidNamespace()}-${process.pid}-`), made[0]);
  });

  test('a program whose output files are lost is an error, and the next program runs in a new directory', async () => {
    const before = ownLauncherDirs();
    const l = new Launcher();
    try {
      await l.run('true', []);
      const [dir] = [...ownLauncherDirs()].filter((n) => !before.has(n));
      assert.ok(dir);
      // two idle shells write into the directory that goes away
      await Promise.all([l.run('true', []), l.run('true', [])]);
      await assert.rejects(l.run('rm', ['-rf', join(tmpdir(), dir)]), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.match(e.message, /lost the output of a program/);
        return true;
      });
      const again = await Promise.all([l.run('echo', ['one']), l.run('echo', ['two'])]);
      assert.deepEqual(
        again.map((r) => [r.code, r.stdout.toString()]),
        [
          [0, 'one\n'],
          [0, 'two\n'],
        ],
      );
      const now = [...ownLauncherDirs()].filter((n) => !before.has(n));
      assert.equal(now.length, 1);
      assert.notEqual(now[0], dir);
    } finally {
      l.close();
    }
  });

  test('close removes its directory; shellQuote round-trips through sh', async () => {
    const l = new Launcher();
    await l.run('true', []);
    const before = ownLauncherDirs().size;
    l.close();
    const after = ownLauncherDirs().size;
    assert.equal(after, before - 1);
    for (const s of [`a'b`, `'`, `''`, 'x\\y', '$x']) {
      assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote(s)}`]).toString(), s);
    }
  });
});
