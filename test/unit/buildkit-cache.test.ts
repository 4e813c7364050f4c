import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cacheRefusal, nodeCacheOptions } from '../../src/driver/buildkit/cache.js';
import type { SolveRequest } from '../../src/driver/types.js';
import { UnsupportedError } from '../../src/errors.js';

const linux = (architecture: string) => ({ os: 'linux', architecture });

function request(
  exports: NonNullable<SolveRequest['nodeCache']>['exports'],
  imports: typeof exports,
  platforms = [linux('amd64')],
): SolveRequest {
  return { platforms, nodeCache: { exports, imports } } as unknown as SolveRequest;
}

describe('BuildKit node cache options', () => {
  test('entries go to CacheOptions as given; imports also to the frontend (cache-imports, cache-from)', () => {
    const o = nodeCacheOptions(
      request(
        [{ type: 'inline', attrs: {} }],
        [
          { type: 'registry', attrs: { ref: 'reg/app:cache' } },
          { type: 'registry', attrs: { ref: 'reg/app:1', mode: 'max' } },
        ],
      ),
      { name: 'n0', perPlatform: false },
    );
    assert.deepEqual(o.solve.cacheExports, [{ type: 'inline', attrs: {} }]);
    assert.equal(o.solve.cacheImports?.length, 2);
    assert.deepEqual(JSON.parse(o.frontendAttrs['cache-imports']!), [
      { Type: 'registry', Attrs: { ref: 'reg/app:cache' } },
      { Type: 'registry', Attrs: { ref: 'reg/app:1', mode: 'max' } },
    ]);
    assert.equal(o.frontendAttrs['cache-from'], 'reg/app:cache,reg/app:1');
  });

  test('no flags: nothing; type=local refused with the node; a shared export on a per-platform node takes one platform', () => {
    assert.deepEqual(
      nodeCacheOptions({ platforms: [] } as unknown as SolveRequest, { name: 'n0', perPlatform: true }),
      {
        solve: {},
        frontendAttrs: {},
      },
    );
    assert.throws(
      () =>
        nodeCacheOptions(request([{ type: 'local', attrs: { dest: '/c' } }], []), {
          name: 'n0',
          perPlatform: false,
        }),
      (e: Error) =>
        e instanceof UnsupportedError &&
        /--cache-to type=local is not supported on BuildKit node n0/.test(e.message),
    );
    const two = [linux('amd64'), linux('arm64')];
    const reg = [{ type: 'registry', attrs: { ref: 'r/c' } }];
    assert.throws(
      () => nodeCacheOptions(request(reg, [], two), { name: 'eng0', perPlatform: true }),
      /takes one platform/,
    );
    assert.ok(
      nodeCacheOptions(request(reg, [], two), { name: 'bk0', perPlatform: false }).solve.cacheExports,
    );
    assert.ok(
      nodeCacheOptions(request([{ type: 'inline', attrs: {} }], [], two), {
        name: 'eng0',
        perPlatform: true,
      }),
    );
  });

  test("the node's refusal of a cache type is said with the flag and the node", () => {
    const e = cacheRefusal(
      new Error('failed to solve: unknown cache exporter: "registry"'),
      'eng0 (tcp://h:2375)',
    );
    assert.equal(
      (e as Error).message,
      '--cache-to type=registry: the BuildKit of node eng0 (tcp://h:2375) cannot export caches of that type (failed to solve: unknown cache exporter: "registry")',
    );
    const other = new Error('something else');
    assert.equal(cacheRefusal(other, 'x'), other);
  });
});
