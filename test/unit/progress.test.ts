import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { formatTimestamp, parseTimestamp, type SolveStatus } from '../../src/progress/events.js';
import { PlainRenderer } from '../../src/progress/plain.js';
import { createRenderer } from '../../src/progress/render.js';
import { formatBytes } from '../../src/progress/units.js';
import { Progress } from '../../src/progress/writer.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

const t0 = Date.parse('2026-11-28T09:12:33Z');
const at = (ms: number) => formatTimestamp(t0 + ms);

describe('timestamps', () => {
  test('RFC 3339 with nanoseconds round-trips', () => {
    const s = formatTimestamp(t0 + 207.193432);
    assert.match(s, /^2026-11-28T09:12:33\.207193\d{3}Z$/);
    assert.ok(Math.abs(parseTimestamp(s) - (t0 + 207.193432)) < 0.001);
    assert.equal(parseTimestamp('2026-11-28T09:12:33.207193432Z'), t0 + 207.193432);
  });
});

describe('units', () => {
  test('formatBytes as BuildKit prints', () => {
    assert.equal(formatBytes(790), '790B');
    assert.equal(formatBytes(24117248), '24.12MB');
    assert.equal(formatBytes(73497197), '73.50MB');
  });
});

describe('plain renderer', () => {
  test('prints BuildKit plain lines: header, status, logs, DONE, CACHED, ERROR and the summary', async () => {
    const out = capture();
    const r = new PlainRenderer(out.stream);
    const a = 'sha256:a';
    const b = 'sha256:b';
    const c = 'sha256:c';
    const batches: SolveStatus[] = [
      { vertexes: [{ digest: a, name: '[internal] load build definition from Dockerfile', started: at(0) }] },
      {
        statuses: [
          {
            id: 'transferring dockerfile:',
            vertex: a,
            current: 790,
            timestamp: at(5),
            started: at(1),
            completed: at(5),
          },
        ],
      },
      {
        vertexes: [
          {
            digest: a,
            name: '[internal] load build definition from Dockerfile',
            started: at(0),
            completed: at(12),
          },
        ],
      },
      {
        vertexes: [
          {
            digest: b,
            name: '[linux/arm64 stage-1 2/4] RUN mkdir /app',
            started: at(20),
            completed: at(20),
            cached: true,
          },
        ],
      },
      { vertexes: [{ digest: c, name: '[builder 5/6] RUN go mod init example.com/m', started: at(100) }] },
      {
        logs: [
          {
            vertex: c,
            stream: 2,
            data: Buffer.from('go: creating new go.mod: module example.com/m\ngo: to add').toString('base64'),
            timestamp: at(162),
          },
        ],
      },
      {
        logs: [
          {
            vertex: c,
            stream: 2,
            data: Buffer.from(' module requirements\n').toString('base64'),
            timestamp: at(170),
          },
        ],
      },
      {
        vertexes: [
          {
            digest: c,
            name: '[builder 5/6] RUN go mod init example.com/m',
            started: at(100),
            completed: at(1400),
            error: 'process "/bin/sh -c go mod init" did not complete successfully: exit code: 1',
          },
        ],
      },
    ];
    for (const s of batches) r.write(s);
    await r.done();
    assert.equal(
      out.text(),
      [
        '#1 [internal] load build definition from Dockerfile',
        '#1 transferring dockerfile: 790B done',
        '#1 DONE 0.0s',
        '',
        '#2 [linux/arm64 stage-1 2/4] RUN mkdir /app',
        '#2 CACHED',
        '',
        '#3 [builder 5/6] RUN go mod init example.com/m',
        '#3 0.062 go: creating new go.mod: module example.com/m',
        '#3 0.062 go: to add module requirements',
        '#3 ERROR: process "/bin/sh -c go mod init" did not complete successfully: exit code: 1',
        '------',
        ' > [builder 5/6] RUN go mod init example.com/m:',
        '0.062 go: creating new go.mod: module example.com/m',
        '0.062 go: to add module requirements',
        '------',
        '',
      ].join('\n'),
    );
  });

  test('an interrupted vertex is marked with "..." and resumes under its number', async () => {
    const out = capture();
    const r = new PlainRenderer(out.stream);
    r.write({ vertexes: [{ digest: 'x', name: 'X', started: at(0) }] });
    r.write({
      logs: [{ vertex: 'x', stream: 1, data: Buffer.from('one\n').toString('base64'), timestamp: at(10) }],
    });
    r.write({ vertexes: [{ digest: 'y', name: 'Y', started: at(20) }] });
    r.write({
      logs: [{ vertex: 'y', stream: 1, data: Buffer.from('two\n').toString('base64'), timestamp: at(30) }],
    });
    r.write({ vertexes: [{ digest: 'x', name: 'X', started: at(0), completed: at(2000) }] });
    r.write({ vertexes: [{ digest: 'y', name: 'Y', started: at(20), completed: at(2100) }] });
    await r.done();
    assert.equal(
      out.text(),
      [
        '#1 X',
        '#1 0.010 one',
        '#1 ...',
        '',
        '#2 Y',
        '#2 0.010 two',
        '#2 ...',
        '',
        '#1 X',
        '#1 DONE 2.0s',
        '',
        '#2 Y',
        '#2 DONE 2.1s',
        '',
      ].join('\n'),
    );
  });
});

describe('Progress writer', () => {
  test('emits BuildKit SolveStatus JSON through rawjson', async () => {
    const out = capture();
    const renderer = createRenderer('rawjson', { stream: out.stream });
    const p = new Progress(renderer);
    const v = p.vertex('sha256:1', '[linux/amd64->arm64 builder 6/6] RUN go build', ['sha256:0']);
    v.start();
    v.log(1, Buffer.from('hi\n'));
    v.complete();
    await renderer.done();
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SolveStatus);
    assert.equal(lines.length, 4);
    assert.deepEqual(lines[0], {
      vertexes: [
        { digest: 'sha256:1', inputs: ['sha256:0'], name: '[linux/amd64->arm64 builder 6/6] RUN go build' },
      ],
    });
    assert.ok(lines[1]!.vertexes![0]!.started);
    assert.equal(Buffer.from(lines[2]!.logs![0]!.data, 'base64').toString(), 'hi\n');
    assert.equal(lines[2]!.logs![0]!.stream, 1);
    assert.ok(lines[3]!.vertexes![0]!.completed);
    assert.match(out.text(), /amd64-\\u003earm64/);
  });
  test('quiet prints nothing; an unknown mode is an error naming the choices', async () => {
    const out = capture();
    const r = createRenderer('quiet', { stream: out.stream });
    new Progress(r).vertex('x', 'X').start();
    await r.done();
    assert.equal(out.text(), '');
    assert.throws(
      () => createRenderer('fancy', { stream: out.stream }),
      /invalid progress mode "fancy".*auto, tty, plain, rawjson, quiet/,
    );
  });
});

describe('tty renderer', () => {
  test('paints the header, one line per step with CACHED and timings, FINISHED at the end', async () => {
    const { TtyRenderer } = await import('../../src/progress/tty.js');
    const out = capture();
    const r = new TtyRenderer(out.stream, { columns: () => 80, rows: () => 24, color: false });
    r.write({ vertexes: [{ digest: 'a', name: '[linux/arm64 2/3] RUN make', started: at(0) }] });
    r.write({
      logs: [
        { vertex: 'a', stream: 1, data: Buffer.from('compiling\n').toString('base64'), timestamp: at(5) },
      ],
    });
    r.write({
      vertexes: [{ digest: 'a', name: '[linux/arm64 2/3] RUN make', started: at(0), completed: at(1500) }],
    });
    r.write({
      vertexes: [
        {
          digest: 'b',
          name: '[linux/arm64 3/3] WORKDIR /app',
          started: at(1500),
          completed: at(1500),
          cached: true,
        },
      ],
    });
    await r.done();
    const text = out.text().replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    assert.match(lines.at(-3)!, /^\[\+\] Building \d+\.\ds \(2\/2\) FINISHED\s*$/);
    assert.match(lines.at(-2)!, /^ => \[linux\/arm64 2\/3\] RUN make\s+1\.5s$/);
    assert.match(lines.at(-1)!, /^ => CACHED \[linux\/arm64 3\/3\] WORKDIR \/app\s+0\.0s$/);
    assert.equal(lines.at(-1)!.length, 80);
  });
});
