import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalJSON,
  digestOf,
  goJSON,
  goJSONBytes,
  isDigest,
  isIndexType,
  MediaTypeDockerManifestList,
  parseDigest,
} from '../../src/oci/index.js';

describe('Digest', () => {
  test('digestOf is sha256 of the bytes', () => {
    assert.equal(digestOf(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  test('validates algorithm and encoding', () => {
    assert.ok(isDigest(`sha256:${'0'.repeat(64)}`));
    assert.ok(isDigest(`sha512:${'0'.repeat(128)}`));
    assert.ok(!isDigest(`sha256:${'0'.repeat(63)}`));
    assert.ok(!isDigest(`sha256:${'A'.repeat(64)}`));
    assert.ok(!isDigest(`md5:${'0'.repeat(32)}`));
    assert.throws(() => parseDigest(`md5:${'0'.repeat(32)}`), /unsupported digest algorithm "md5"/);
    assert.throws(() => parseDigest('nope'), /invalid digest "nope"/);
  });
});

describe('canonicalJSON', () => {
  test('sorts keys at every depth and drops undefined', () => {
    assert.equal(
      canonicalJSON({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } }),
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('goJSON', () => {
  test('escapes <, >, &, U+2028 and U+2029 as encoding/json does, keeping member order', () => {
    assert.equal(
      goJSON({ b: '<&>', a: 'x\u2028y\u2029' }),
      '{"b":"\\u003c\\u0026\\u003e","a":"x\\u2028y\\u2029"}',
    );
  });
  test('indents as json.MarshalIndent(v, "", "  ") and gives the UTF-8 bytes', () => {
    assert.equal(goJSON({ a: [1, 'é'] }, '  '), '{\n  "a": [\n    1,\n    "é"\n  ]\n}');
    assert.deepEqual(goJSONBytes({ a: 'é' }), Buffer.from('{"a":"é"}', 'utf8'));
  });
});

describe('media types', () => {
  test('a Docker manifest list is an index', () => {
    assert.ok(isIndexType(MediaTypeDockerManifestList));
  });
});
