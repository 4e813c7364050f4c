/**
 * cli/debug — `polyarch debug …`: tools to look inside the frontend. `debug parse FILE` prints
 * the Dockerfile's parse tree in BuildKit's dump format, as BuildKit's dockerfile dumper does;
 * `debug check-store` verifies the local store and build cache.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { checkStore } from '../api/store.js';
import { dumpNode, parseDockerfile } from '../dockerfile/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { CommandRun } from './command.js';
import { apiContext } from './context.js';

async function readSource(path: string, cwd: string, stdin: NodeJS.ReadableStream): Promise<Buffer> {
  if (path === '-') return buffer(stdin);
  try {
    return await readFile(resolve(cwd, path));
  } catch (err) {
    throw new InvalidArgumentError(
      `reading ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
      { cause: err },
    );
  }
}

export const runParse: CommandRun = async (ctx, args) => {
  const file = args[0]!;
  const source = await readSource(file, ctx.cwd, ctx.stdin);
  const result = parseDockerfile(source, { file: file === '-' ? 'Dockerfile' : file });
  ctx.stdout.write(`${dumpNode(result.ast)}\n`);
  if (result.warnings.length > 0) {
    for (const w of result.warnings) ctx.stderr.write(`[WARNING]: ${w.short}\n`);
    ctx.stderr.write('[WARNING]: Empty continuation lines will become errors in a future release.\n');
  }
  return 0;
};

export const runCheckStore: CommandRun = async (ctx) => {
  const { problems, leftovers } = await checkStore(apiContext(ctx));
  for (const p of problems) ctx.stdout.write(`${p}\n`);
  if (leftovers) ctx.stdout.write(`${leftovers} partial write(s) of interrupted processes (harmless)\n`);
  ctx.stdout.write(problems.length ? `${problems.length} problem(s)\n` : 'store ok\n');
  return problems.length ? 1 : 0;
};
