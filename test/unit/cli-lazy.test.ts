/**
 * What the CLI leaves unbuilt until a command uses it (issue 13, start-up): the stdin stream,
 * given to runCommandLine as a getter, and V8's WebAssembly tier, set by a hook that runs just
 * before undici first loads.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { type Command, runCommandLine } from '../../src/cli/command.js';
import { beforeUndiciLoads, loadUndici } from '../../src/undici.js';

function root(run: Command['run']): Command {
  return { name: 'tool', short: 'a tool', subcommands: [{ name: 'go', short: 'go', run }] };
}

async function runWithCountedStdin(run: Command['run']): Promise<{ code: number; reads: number }> {
  let reads = 0;
  const stdin = new PassThrough();
  stdin.end('input');
  const code = await runCommandLine(root(run), ['go'], {
    get stdin() {
      reads++;
      return stdin;
    },
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    env: {},
    cwd: '/',
    signal: new AbortController().signal,
    rootName: 'tool',
  });
  return { code, reads };
}

describe('the command context builds stdin only when a command reads it', () => {
  test('a command that does not read stdin leaves the getter unread', async () => {
    const { code, reads } = await runWithCountedStdin(async (ctx) => {
      assert.equal(ctx.commandPath, 'tool go');
      return 0;
    });
    assert.equal(code, 0);
    assert.equal(reads, 0);
  });

  test('a command that reads stdin gets the stream', async () => {
    let text = '';
    const { code, reads } = await runWithCountedStdin(async (ctx) => {
      for await (const chunk of ctx.stdin) text += String(chunk);
      return 3;
    });
    assert.equal(code, 3);
    assert.equal(text, 'input');
    assert.equal(reads, 1);
  });
});

describe('beforeUndiciLoads', () => {
  test('runs a hook once, before undici loads, and at once when it has loaded', async () => {
    const seen: string[] = [];
    beforeUndiciLoads(() => seen.push('first'));
    assert.equal(seen.length, 0, 'not before a command speaks HTTP');
    const undici = await loadUndici();
    assert.equal(typeof undici.Agent, 'function');
    assert.deepEqual([...seen], ['first']);
    await loadUndici();
    assert.deepEqual([...seen], ['first'], 'once');
    beforeUndiciLoads(() => seen.push('late'));
    assert.deepEqual(seen, ['first', 'late']);
  });
});
