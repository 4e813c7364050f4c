import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BLOCK_SIZE,
  decodeHeaderBlock,
  encodeHeader,
  formatNumeric,
  formatPaxRecord,
  formatPaxTime,
  parseNumeric,
  parsePaxRecords,
  parsePaxTime,
  readTar,
  splitUstarPath,
  type TarHeader,
  type TarHeaderInit,
  TarParser,
  type TarWriteEntry,
  writeTar,
} from '../../src/tar/index.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function tarOf(entries: TarWriteEntry[]): Promise<Buffer> {
  return collect(writeTar(entries));
}

/** Reads an archive fed in chunks of `chunk` bytes. */
async function entriesOf(data: Buffer, chunk = data.length): Promise<{ h: TarHeader; body: Buffer }[]> {
  async function* chunks() {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  }
  const out: { h: TarHeader; body: Buffer }[] = [];
  for await (const { header, body } of readTar(chunks())) out.push({ h: header, body: await collect(body) });
  return out;
}

/** A raw header block built by hand (for what our writer never produces). */
function rawBlock(fields: {
  name: string;
  typeflag: string;
  size?: number;
  magic?: 'gnu' | 'ustar' | 'v7';
}): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  b.write(fields.name, 0, 100, 'latin1');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  b.write(`${(fields.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  b.write('00000000000\0', 136, 'latin1');
  b.write(fields.typeflag, 156, 'latin1');
  if (fields.magic === 'gnu') b.write('ustar  \0', 257, 'latin1');
  else if (fields.magic !== 'v7') b.write('ustar\x0000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function padded(body: Buffer): Buffer {
  const pad = (BLOCK_SIZE - (body.length % BLOCK_SIZE)) % BLOCK_SIZE;
  return Buffer.concat([body, Buffer.alloc(pad)]);
}

describe('tar numeric fields', () => {
  test('octal with NUL and space padding', () => {
    assert.equal(parseNumeric(Buffer.from('0000644\0'), 'mode'), 0o644);
    assert.equal(parseNumeric(Buffer.from('   644 \0'), 'mode'), 0o644);
    assert.equal(parseNumeric(Buffer.from('\0\0\0\0\0\0\0\0'), 'uid'), 0);
    assert.throws(() => parseNumeric(Buffer.from('0000789\0'), 'mode'), /mode: invalid octal digit "8"/);
  });
  test('base-256 positive and negative round-trip through formatNumeric', () => {
    for (const n of [0o7777777 + 1, 3_000_000_000, 2 ** 40, -1, -1_000_000]) {
      const b = Buffer.alloc(8);
      formatNumeric(b, 0, 8, n);
      assert.equal(parseNumeric(b, 'x'), n, `value ${n}`);
      assert.ok((b[0]! & 0x80) !== 0, 'base-256 marker');
    }
    const small = Buffer.alloc(8);
    formatNumeric(small, 0, 8, 0o755);
    assert.equal(small.toString('latin1'), '0000755\0');
    const uid = Buffer.alloc(8);
    formatNumeric(uid, 0, 8, 4_000_000);
    assert.equal(parseNumeric(uid, 'uid'), 4_000_000);
  });
});

describe('PAX records', () => {
  test('length counts itself, also across a digit boundary', () => {
    for (let n = 0; n < 120; n++) {
      const rec = formatPaxRecord('k', 'v'.repeat(n));
      assert.equal(Number(rec.toString('latin1').split(' ')[0]), rec.length, `value length ${n}`);
      assert.equal(parsePaxRecords(rec).get('k')?.toString(), 'v'.repeat(n));
    }
  });
  test('binary values survive, including newline and NUL', () => {
    const v = Buffer.from([0, 10, 0xff, 0x3d, 0x20, 1]);
    const rec = formatPaxRecord('SCHILY.xattr.user.bin', v);
    assert.deepEqual(parsePaxRecords(rec).get('SCHILY.xattr.user.bin'), v);
  });
  test('malformed records are refused', () => {
    assert.throws(() => parsePaxRecords(Buffer.from('5 a=b')), /out of range|newline/);
    assert.throws(() => parsePaxRecords(Buffer.from('x a=b\n')), /invalid length/);
    assert.throws(() => parsePaxRecords(Buffer.from('5 ab\n')), /missing "="/);
  });
  test('times with fractions and negative times', () => {
    assert.deepEqual(parsePaxTime('1577934245.123456789'), { sec: 1577934245, nsec: 123456789 });
    assert.deepEqual(parsePaxTime('1.5'), { sec: 1, nsec: 500000000 });
    assert.deepEqual(parsePaxTime('10.1234567891234'), { sec: 10, nsec: 123456789 });
    assert.deepEqual(parsePaxTime('-1.25'), { sec: -2, nsec: 750000000 });
    assert.equal(formatPaxTime({ sec: -2, nsec: 750000000 }), '-1.25');
    assert.equal(formatPaxTime({ sec: 5, nsec: 100 }), '5.0000001');
    assert.equal(formatPaxTime({ sec: 5, nsec: 0 }), '5');
    assert.throws(() => parsePaxTime('1e5'), /invalid value/);
  });
});

describe('ustar path split', () => {
  test('splits at the last slash that fits, as Go does', () => {
    const p = Buffer.from(`${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(50)}`);
    const [prefix, name] = splitUstarPath(p)!;
    assert.equal(prefix.toString(), `${'a'.repeat(60)}/${'b'.repeat(60)}`);
    assert.equal(name.toString(), 'c'.repeat(50));
    assert.equal(splitUstarPath(Buffer.from('x'.repeat(150))), undefined);
    assert.equal(splitUstarPath(Buffer.from('short')), undefined);
  });
});

describe('header encode → decode', () => {
  const cases: [string, TarHeaderInit][] = [
    [
      'plain file',
      { type: 'file', path: 'etc/passwd', size: 3, mode: 0o644, uid: 0, gid: 0, mtime: 1700000000 },
    ],
    ['setuid file', { type: 'file', path: 'usr/bin/su', mode: 0o4755, uid: 0, gid: 0, mtime: 1 }],
    ['sticky dir', { type: 'dir', path: 'tmp', mode: 0o1777 }],
    ['long split path', { type: 'file', path: `${'d'.repeat(90)}/${'f'.repeat(90)}` }],
    ['path > 255', { type: 'file', path: `${'d'.repeat(200)}/${'f'.repeat(200)}` }],
    ['long symlink', { type: 'symlink', path: 'l', linkpath: `/${'t'.repeat(300)}` }],
    ['big ids', { type: 'file', path: 'f', uid: 3_000_000, gid: 4_294_967_294 }],
    ['sub-second mtime', { type: 'file', path: 'f', mtime: { sec: 1577934245, nsec: 123456789 } }],
    ['negative mtime', { type: 'file', path: 'f', mtime: { sec: -100, nsec: 0 } }],
    ['char device', { type: 'char', path: 'dev/null', devmajor: 1, devminor: 3, mode: 0o666 }],
    ['big device', { type: 'block', path: 'dev/x', devmajor: 259, devminor: 3_000_000 }],
    ['fifo', { type: 'fifo', path: 'p', mode: 0o600 }],
    ['hardlink', { type: 'hardlink', path: 'b', linkpath: 'a' }],
    ['long names', { type: 'file', path: 'f', uname: 'u'.repeat(40), gname: 'g'.repeat(33) }],
    ['non-UTF-8 name', { type: 'file', path: Buffer.from([0x66, 0xe9, 0xff, 0x2f, 0x80]) }],
    [
      'binary xattrs',
      {
        type: 'file',
        path: 'f',
        xattrs: new Map([
          [
            'security.capability',
            Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
          ],
          ['user.nl', Buffer.from('a\nb=c\0')],
        ]),
      },
    ],
  ];
  for (const [name, init] of cases) {
    test(name, async () => {
      const size = init.size ?? 0;
      const data = await tarOf([{ header: init, body: size > 0 ? Buffer.alloc(size, 0x61) : undefined }]);
      const [e, ...rest] = await entriesOf(data, 7); // odd chunk size: every boundary case
      assert.equal(rest.length, 0);
      const h = e!.h;
      const want = typeof init.path === 'string' ? Buffer.from(init.path) : Buffer.from(init.path);
      assert.deepEqual(h.path, init.type === 'dir' ? Buffer.concat([want, Buffer.from('/')]) : want);
      assert.equal(h.type, init.type);
      if (init.linkpath) assert.equal(h.linkpath.toString(), init.linkpath);
      if (init.mode !== undefined) assert.equal(h.mode, init.mode);
      assert.equal(h.uid, init.uid ?? 0);
      assert.equal(h.gid, init.gid ?? 0);
      assert.equal(h.uname, init.uname ?? '');
      assert.equal(h.gname, init.gname ?? '');
      assert.equal(h.size, size);
      assert.equal(e!.body.length, size);
      const mt = init.mtime ?? 0;
      assert.deepEqual(h.mtime, typeof mt === 'number' ? { sec: mt, nsec: 0 } : mt);
      assert.equal(h.devmajor, init.devmajor ?? 0);
      assert.equal(h.devminor, init.devminor ?? 0);
      assert.deepEqual([...h.xattrs], [...(init.xattrs ?? new Map())]);
    });
  }
  test('the same input gives the same bytes, PAX records sorted', async () => {
    const init: TarHeaderInit = {
      type: 'file',
      path: 'p'.repeat(300),
      xattrs: new Map([
        ['user.b', Buffer.from('2')],
        ['user.a', Buffer.from('1')],
      ]),
    };
    const a = encodeHeader(init);
    assert.deepEqual(encodeHeader(init), a);
    const body = a.subarray(BLOCK_SIZE).toString('latin1');
    assert.ok(body.indexOf('SCHILY.xattr.user.a') < body.indexOf('SCHILY.xattr.user.b'));
    assert.ok(body.indexOf('path=') > body.indexOf('SCHILY'), 'keys in byte order');
    assert.equal(decodeHeaderBlock(a).typeflag, 'x');
  });
  test('refuses inconsistent headers', () => {
    assert.throws(() => encodeHeader({ type: 'dir', path: 'd', size: 1 }), /size must be 0/);
    assert.throws(() => encodeHeader({ type: 'symlink', path: 'l' }), /missing link target/);
  });
});

describe('tar reader', () => {
  test('GNU long name and long link (L/K)', async () => {
    const longName = `${'n'.repeat(150)}/${'m'.repeat(150)}`;
    const longLink = `/${'t'.repeat(200)}`;
    const nameBody = Buffer.from(`${longName}\0`);
    const linkBody = Buffer.from(`${longLink}\0`);
    const link = rawBlock({ name: 'truncated', typeflag: '2', magic: 'gnu' });
    const data = Buffer.concat([
      rawBlock({ name: '././@LongLink', typeflag: 'L', size: nameBody.length, magic: 'gnu' }),
      padded(nameBody),
      rawBlock({ name: '././@LongLink', typeflag: 'K', size: linkBody.length, magic: 'gnu' }),
      padded(linkBody),
      link,
      Buffer.alloc(1024),
    ]);
    const [e] = await entriesOf(data, 100);
    assert.equal(e!.h.name, longName);
    assert.equal(e!.h.linkpath.toString(), longLink);
    assert.equal(e!.h.type, 'symlink');
  });
  test('a global PAX header applies to later entries; a local one overrides it', async () => {
    const g = Buffer.concat([formatPaxRecord('uid', '1234'), formatPaxRecord('comment', 'hi')]);
    const l = formatPaxRecord('uid', '99');
    const data = Buffer.concat([
      rawBlock({ name: 'pax_global_header', typeflag: 'g', size: g.length }),
      padded(g),
      rawBlock({ name: 'a', typeflag: '0' }),
      rawBlock({ name: 'PaxHeaders/b', typeflag: 'x', size: l.length }),
      padded(l),
      rawBlock({ name: 'b', typeflag: '0' }),
      rawBlock({ name: 'c', typeflag: '0' }),
    ]);
    const es = await entriesOf(data);
    assert.deepEqual(
      es.map((e) => [e.h.name, e.h.uid]),
      [
        ['a', 1234],
        ['b', 99],
        ['c', 1234],
      ],
    );
  });
  test('v7 directory marked by a trailing slash; missing end marker tolerated', async () => {
    const es = await entriesOf(Buffer.concat([rawBlock({ name: 'd/', typeflag: '\0', magic: 'v7' })]));
    assert.equal(es[0]!.h.type, 'dir');
  });
  test('bytes after the end marker are ignored', async () => {
    const data = Buffer.concat([
      await tarOf([{ header: { type: 'file', path: 'a' } }]),
      Buffer.alloc(9000, 7),
    ]);
    assert.equal((await entriesOf(data, 512)).length, 1);
  });
  test('GNU sparse files are refused clearly', async () => {
    await assert.rejects(
      entriesOf(rawBlock({ name: 'sparse', typeflag: 'S', magic: 'gnu' })),
      /GNU sparse file "sparse" is not supported/,
    );
    const pax = formatPaxRecord('GNU.sparse.major', '1');
    const data = Buffer.concat([
      rawBlock({ name: 'x', typeflag: 'x', size: pax.length }),
      padded(pax),
      rawBlock({ name: 'f', typeflag: '0' }),
    ]);
    await assert.rejects(entriesOf(data), /GNU sparse files are not supported/);
  });
  test('checksum errors, truncation and unknown types say where', async () => {
    const bad = rawBlock({ name: 'a', typeflag: '0' });
    bad[0] = 0x62;
    await assert.rejects(
      entriesOf(Buffer.concat([Buffer.alloc(0), bad])),
      /offset 0: invalid header checksum/,
    );
    const data = await tarOf([
      { header: { type: 'file', path: 'big', size: 2000 }, body: Buffer.alloc(2000) },
    ]);
    await assert.rejects(
      entriesOf(data.subarray(0, 1500)),
      /unexpected end of archive in the content of "big"/,
    );
    await assert.rejects(
      entriesOf(rawBlock({ name: 'w', typeflag: 'Z' })),
      /unsupported entry type 'Z' for "w"/,
    );
  });
  test('unread content is skipped', async () => {
    const data = await tarOf([
      { header: { type: 'file', path: 'a', size: 3000 }, body: Buffer.alloc(3000, 1) },
      { header: { type: 'file', path: 'b', size: 2 }, body: Buffer.from('hi') },
    ]);
    const names: string[] = [];
    for await (const { header } of readTar([data])) names.push(header.name);
    assert.deepEqual(names, ['a', 'b']);
  });
  test('the push parser hands content on without gathering it', () => {
    const chunks: number[] = [];
    const p = new TarParser({ entry() {}, data: (c) => chunks.push(c.length), entryEnd() {} });
    const h = encodeHeader({ type: 'file', path: 'f', size: 100_000 });
    p.write(h);
    for (let i = 0; i < 10; i++) p.write(Buffer.alloc(10_000));
    p.write(Buffer.alloc(1024 + 352)); // padding (100000 % 512 = 160 → 352) and end marker
    p.end();
    assert.deepEqual(chunks, Array(10).fill(10_000));
    assert.ok(p.done);
  });
});

describe('tar writer', () => {
  test('content that does not match the size is refused', async () => {
    await assert.rejects(
      tarOf([{ header: { type: 'file', path: 'f', size: 5 }, body: Buffer.from('abc') }]),
      /file "f": content is 3 bytes but its header says 5/,
    );
  });
  test('ends with two zero blocks, no record padding; small pieces are batched', async () => {
    const entries: TarWriteEntry[] = [];
    for (let i = 0; i < 300; i++)
      entries.push({ header: { type: 'file', path: `f${i}`, size: 1 }, body: Buffer.from('x') });
    const chunks: Buffer[] = [];
    for await (const c of writeTar(entries)) chunks.push(c);
    const all = Buffer.concat(chunks);
    assert.equal(all.length, 300 * 1024 + 1024);
    assert.ok(chunks.length < 10, `${chunks.length} chunks`);
    assert.ok(all.subarray(-1024).every((b) => b === 0));
  });
});
