/** Go's value syntaxes: strconv.ParseBool, time.ParseDuration, go-units RAMInBytes, a CSV record. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvRecord, parseByteSize, parseGoBool, parseGoDuration } from '../../src/goparse.js';

test('Go booleans: exactly strconv.ParseBool spellings', () => {
  for (const v of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(parseGoBool(v), true, v);
  for (const v of ['0', 'f', 'F', 'false', 'FALSE', 'False']) assert.equal(parseGoBool(v), false, v);
  for (const v of ['', 'yes', 'tRuE', 'on', ' true']) assert.equal(parseGoBool(v), undefined, v);
});

test('Go durations, in nanoseconds, with Go error text', () => {
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.equal(parseGoDuration('250ms'), 250e6);
  assert.equal(parseGoDuration('1.5µs'), 1500);
  assert.equal(parseGoDuration('-.5h'), -1800e9);
  assert.equal(parseGoDuration('0'), 0);
  assert.throws(() => parseGoDuration('5'), { message: 'time: missing unit in duration "5"' });
  assert.throws(() => parseGoDuration('1d'), { message: 'time: invalid duration "1d"' });
  assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
});

test('byte sizes: binary units, case-insensitive', () => {
  assert.equal(parseByteSize('100'), 100);
  assert.equal(parseByteSize('64m'), 64 * 1024 ** 2);
  assert.equal(parseByteSize('10GB'), 10 * 1024 ** 3);
  assert.equal(parseByteSize('1.5 KiB'), 1536);
  assert.equal(parseByteSize('12QB'), undefined);
  assert.equal(parseByteSize('-1'), undefined);
  // go-units' regexp lets `1.2.3` through and strconv.ParseFloat then refuses it
  assert.equal(parseByteSize('1.2.3m'), undefined);
});

test('CSV records as encoding/csv reads one', () => {
  assert.deepEqual(csvRecord('type=local,dest=out'), ['type=local', 'dest=out']);
  assert.deepEqual(csvRecord('"a,b",c'), ['a,b', 'c']);
  assert.deepEqual(csvRecord('"say ""hi""",'), ['say "hi"', '']);
  assert.deepEqual(csvRecord(''), ['']);
  assert.throws(() => csvRecord('a"b'), /bare " in non-quoted-field/);
  assert.throws(() => csvRecord('"ab'), /extraneous or missing " in quoted-field/);
  assert.throws(() => csvRecord('"a"b'), /extraneous or missing " in quoted-field/);
});
