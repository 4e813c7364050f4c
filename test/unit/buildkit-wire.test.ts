/**
 * buildkit/wire — our hand-written BuildKit messages read by an independent decoder: protoc's
 * `--decode_raw` shows the field numbers and values of the bytes we encode (BuildKit's
 * control.proto, fsutil's wire.proto); and what we decode round-trips what we encode. Where
 * protoc is missing the oracle test says so and is skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  decodeErrorSource,
  decodePacket,
  encodePacket,
  encodePruneRequest,
  encodeSolveRequest,
  PacketType,
} from '../../src/buildkit/wire.js';
import { haveCommand } from '../helpers/fixtures.js';

const noProtoc = haveCommand('protoc')
  ? undefined
  : 'protoc is not installed (scripts/setup.sh --test installs protobuf-compiler)';
if (noProtoc) console.log(`# buildkit-wire: oracle tests skipped: ${noProtoc}`);

const decodeRaw = (bytes: Uint8Array) =>
  execFileSync('protoc', ['--decode_raw'], { input: bytes }).toString();

describe('BuildKit messages', () => {
  test('SolveRequest: the fields BuildKit reads, at its field numbers', {
    skip: noProtoc !== undefined,
  }, () => {
    const raw = decodeRaw(
      encodeSolveRequest({
        ref: 'r1',
        session: 's1',
        frontend: 'dockerfile.v0',
        frontendAttrs: { platform: 'linux/arm64', 'build-arg:A': 'é' },
        entitlements: ['network.host'],
        exporters: [{ type: 'oci', attrs: { name: 'x' } }],
        cacheImports: [{ type: 'registry', attrs: { ref: 'r/c' } }],
        enableSessionExporter: true,
      }),
    );
    assert.match(raw, /^1: "r1"$/m);
    assert.match(raw, /^3: "oci"$/m, 'the deprecated single exporter, for older daemons');
    assert.match(raw, /^4 \{\n {2}1: "name"\n {2}2: "x"\n\}$/m);
    assert.match(raw, /^5: "s1"$/m);
    assert.match(raw, /^6: "dockerfile.v0"$/m);
    assert.match(raw, /^7 \{\n {2}1: "platform"\n {2}2: "linux\/arm64"\n\}$/m);
    assert.match(raw, /^7 \{\n {2}1: "build-arg:A"\n {2}2: "\\303\\251"\n\}$/m);
    assert.match(
      raw,
      /^8 \{\n {2}5 \{\n {4}1: "registry"\n {4}2 \{\n {6}1: "ref"\n {6}2: "r\/c"\n {4}\}\n {2}\}\n\}$/m,
    );
    assert.match(raw, /^9: "network.host"$/m);
    assert.match(raw, /^13 \{\n {2}1: "oci"\n {2}2 \{\n {4}1: "name"\n {4}2: "x"\n {2}\}\n\}$/m);
    assert.match(raw, /^14: 1$/m);
  });

  test('PruneRequest: filters, all, keep-duration in ns, reserved space', {
    skip: noProtoc !== undefined,
  }, () => {
    const raw = decodeRaw(
      encodePruneRequest({ filters: ['type==regular'], all: true, keepDuration: 3.6e12, keepBytes: 1 << 30 }),
    );
    assert.equal(raw, '1: "type==regular"\n2: 1\n3: 3600000000000\n4: 1073741824\n');
  });

  test('fsutil packets: a stat with Go file mode bits, data, and the empty end-of-walk stat', {
    skip: noProtoc !== undefined,
  }, () => {
    const stat = {
      path: 'dir/f',
      mode: (1 << 31) | 0o755,
      uid: 0,
      gid: 1000,
      size: 0,
      modTime: 1700000000123456789n,
      linkname: '',
      devmajor: 0,
      devminor: 0,
    };
    const raw = decodeRaw(encodePacket({ type: PacketType.stat, id: 0, stat }));
    assert.equal(raw, '2 {\n  1: "dir/f"\n  2: 2147484141\n  4: 1000\n  6: 1700000000123456789\n}\n');
    assert.equal(
      decodeRaw(encodePacket({ type: PacketType.data, id: 7, data: Buffer.from([0xff, 0x00]) })),
      '1: 2\n3: 7\n4: "\\377\\000"\n',
    );
    assert.equal(encodePacket({ type: PacketType.stat, id: 0 }).length, 0);
  });

  test('packets round-trip', () => {
    const p = { type: PacketType.req, id: 42 };
    assert.deepEqual(decodePacket(encodePacket(p)), { type: PacketType.req, id: 42 });
    const stat = {
      path: 'a',
      mode: 0o644,
      uid: 1,
      gid: 2,
      size: 3,
      modTime: 4n,
      linkname: 'l',
      devmajor: 5,
      devminor: 6,
    };
    assert.deepEqual(decodePacket(encodePacket({ type: PacketType.stat, id: 0, stat })).stat, stat);
  });
});

describe('BuildKit error details', () => {
  const proto = `syntax = "proto3";
package t;
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message Position { int32 line = 1; int32 character = 2; }
message Range { Position start = 1; Position end = 2; }
message SourceInfo { string filename = 1; bytes data = 2; string language = 4; }
message Source { SourceInfo info = 1; repeated Range ranges = 2; }
`;
  const encode = (type: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'pa-proto-'));
    writeFileSync(join(dir, 't.proto'), proto);
    return execFileSync('protoc', [`--encode=t.${type}`, '-I', dir, 't.proto'], { input: text });
  };
  const octal = (b: Buffer) => [...b].map((x) => `\\${x.toString(8).padStart(3, '0')}`).join('');

  test('the Dockerfile lines of errdefs.Source, from a google.rpc.Status encoded by protoc', {
    skip: noProtoc !== undefined,
  }, () => {
    const source = encode(
      'Source',
      'info { filename: "app.Dockerfile" data: "FROM x\\nRUN false\\n" language: "Dockerfile" } ranges { start { line: 2 } end { line: 2 character: 9 } }',
    );
    const status = encode(
      'Status',
      `code: 2 message: "exit code: 1" details { type_url: "type.googleapis.com/moby.buildkit.v1.Other" value: "x" } details { type_url: "type.googleapis.com/errdefs.Source" value: "${octal(source)}" }`,
    );
    const s = decodeErrorSource(status);
    assert.ok(s);
    assert.equal(s.filename, 'app.Dockerfile');
    assert.equal(Buffer.from(s.data).toString(), 'FROM x\nRUN false\n');
    assert.deepEqual(s.ranges, [{ startLine: 2, endLine: 2 }]);
    assert.equal(decodeErrorSource(encode('Status', 'code: 2 message: "no details"')), undefined);
  });
});
