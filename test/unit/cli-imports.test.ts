/**
 * The CLI sits on the library: every command calls `api/` and only parses flags and prints, so
 * nothing under src/cli/ may import the layers below the api (content, registry, worker,
 * builder, snapshot, driver, exporter, executor). Each offending import fails with its file:line.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers/fixtures.js';

const srcDir = join(repoRoot, 'src');
const cliDir = join(srcDir, 'cli');
const below = ['content', 'registry', 'worker', 'builder', 'snapshot', 'driver', 'exporter', 'executor'];

/** `from '…'`, `import '…'` and `import('…')`: the module specifier of each, with its line. */
const specifierRe = /(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g;

/** The imports of `file` (its `text`) that reach a layer below the api, as `file:line: specifier`. */
function forbiddenImports(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(specifierRe)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) continue;
      const [top] = relative(srcDir, resolve(dirname(file), spec)).split(sep);
      if (top !== undefined && below.includes(top)) out.push(`${relative(repoRoot, file)}:${i + 1}: ${spec}`);
    }
  });
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('cli imports only the api and pure modules', () => {
  test('no file under src/cli imports content, registry, worker, builder, snapshot, driver or exporter', () => {
    const files = tsFiles(cliDir);
    assert.ok(files.length > 10, `expected the CLI's files under ${cliDir}`);
    const offending = files.flatMap((f) => forbiddenImports(f, readFileSync(f, 'utf8')));
    assert.deepEqual(offending, [], `src/cli must call api/ instead:\n${offending.join('\n')}`);
  });

  test('the check sees every form of import', () => {
    const file = join(cliDir, 'example.ts');
    const text = [
      "import { a } from '../api/images.js';",
      "import type { B } from '../builder/index.js';",
      'import {',
      '  c,',
      "} from '../content/index.js';",
      "export { d } from '../registry/index.js';",
      "const e = await import('../driver/buildkit/usage.js');",
      "import '../exporter/dest.js';",
      "import { f } from '../platforms/index.js';",
      "import { g } from './context.js';",
    ].join('\n');
    assert.deepEqual(forbiddenImports(file, text), [
      'src/cli/example.ts:2: ../builder/index.js',
      'src/cli/example.ts:5: ../content/index.js',
      'src/cli/example.ts:6: ../registry/index.js',
      'src/cli/example.ts:7: ../driver/buildkit/usage.js',
      'src/cli/example.ts:8: ../exporter/dest.js',
    ]);
  });
});
