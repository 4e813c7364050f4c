/**
 * Builders made of nodes: `create --append/--node/--leave` as buildx does them (node names,
 * changes to an existing node, the last node, duplicate endpoints), one local node per
 * builder, and the endpoints and driver options each driver records.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createBuilder, leaveBuilder, parseDriverOpts } from '../../src/api/builders.js';
import { type BuilderNodeRecord, BuilderStore, leaveNode, updateNodes } from '../../src/builder/index.js';
import { nodeDriverOpts, nodeEndpoint } from '../../src/driver/endpoints.js';
import { tempDir } from '../helpers/fixtures.js';

const remote = (name: string, endpoint: string, platforms: string[] = []): BuilderNodeRecord => ({
  name,
  driver: 'remote',
  endpoint,
  platforms,
});

describe('node group', () => {
  test('append names nodes <builder><n>, skipping taken names', () => {
    let nodes = updateNodes('fleet', [], {
      driver: 'remote',
      endpoint: 'tcp://a:1234',
      endpointSet: true,
      platforms: [],
      append: false,
    });
    assert.deepEqual(
      nodes.map((n) => n.name),
      ['fleet0'],
    );
    nodes = updateNodes('fleet', [remote('fleet1', 'tcp://b:1')], {
      driver: 'remote',
      endpoint: 'tcp://c:1',
      endpointSet: true,
      platforms: ['linux/arm64'],
      append: true,
    });
    assert.deepEqual(
      nodes.map((n) => [n.name, n.endpoint, n.platforms]),
      [
        ['fleet1', 'tcp://b:1', []],
        ['fleet0', 'tcp://c:1', ['linux/arm64']],
      ],
    );
  });

  test('--node naming an existing node changes what was given, keeps the rest', () => {
    const before = [remote('a', 'tcp://a:1', ['linux/arm64']), remote('b', 'tcp://b:1')];
    const after = updateNodes('fleet', before, {
      node: 'A',
      driver: 'remote',
      endpoint: '',
      endpointSet: false,
      platforms: [],
      driverOpts: { servername: 'x' },
      append: false,
    });
    assert.deepEqual(after[0], { ...before[0], driverOpts: { servername: 'x' } });
    assert.deepEqual(after[1], before[1]);
    assert.throws(
      () =>
        updateNodes('fleet', before, {
          node: 'a',
          driver: 'docker',
          endpoint: 'unix:///x',
          endpointSet: true,
          platforms: [],
          append: false,
        }),
      /node a of builder "fleet" uses the remote driver, not docker/,
    );
  });

  test('buildx errors: unknown node without append, duplicate endpoint, two local nodes, no endpoint', () => {
    const nodes = [remote('a', 'tcp://a:1')];
    const change = { driver: 'remote' as const, endpoint: 'tcp://b:1', endpointSet: true, platforms: [] };
    assert.throws(
      () => updateNodes('fleet', nodes, { ...change, node: 'zz', append: false }),
      /node zz not found, did you mean to append\?/,
    );
    assert.throws(
      () => updateNodes('fleet', nodes, { ...change, endpoint: 'tcp://a:1', append: true }),
      /invalid duplicate endpoint tcp:\/\/a:1/,
    );
    assert.throws(
      () => updateNodes('fleet', nodes, { ...change, endpoint: '', append: true }),
      /no remote endpoint provided/,
    );
    const local = { driver: 'local' as const, endpointSet: true, platforms: [], append: true };
    const one = updateNodes('fleet', nodes, { ...local, endpoint: '/root/fleet' });
    assert.throws(
      () => updateNodes('fleet', one, { ...local, endpoint: '/root/fleet2' }),
      /builder "fleet" already has a local node \(fleet0\)/,
    );
  });

  test('leave removes the node; not the last one', () => {
    const nodes = [remote('a', 'tcp://a:1'), remote('b', 'tcp://b:1')];
    assert.deepEqual(
      leaveNode('fleet', nodes, 'A').map((n) => n.name),
      ['b'],
    );
    assert.throws(() => leaveNode('fleet', nodes, 'c'), /node "c" not found for fleet/);
    assert.throws(() => leaveNode('fleet', [nodes[0]!], 'a'), /can not leave last node/);
  });
});

describe('endpoints and driver options', () => {
  const base = { env: {}, cwd: '/tmp' };
  test('each driver checks its endpoint', () => {
    assert.equal(nodeEndpoint({ ...base, driver: 'local' }), undefined);
    assert.throws(
      () => nodeEndpoint({ ...base, driver: 'local', endpoint: 'tcp://x:1' }),
      /takes no endpoint/,
    );
    assert.equal(
      nodeEndpoint({ ...base, driver: 'remote', endpoint: 'tcp://10.0.0.7:1234' }),
      'tcp://10.0.0.7:1234',
    );
    assert.equal(nodeEndpoint({ ...base, driver: 'remote' }), undefined);
    assert.equal(
      nodeEndpoint({ ...base, env: { BUILDKIT_HOST: 'unix:///run/bk.sock' }, driver: 'remote' }),
      'unix:///run/bk.sock',
    );
    assert.throws(
      () => nodeEndpoint({ ...base, driver: 'remote', endpoint: 'ssh://me@host' }),
      /invalid remote endpoint "ssh:\/\/me@host": unsupported scheme "ssh"/,
    );
    assert.throws(
      () => nodeEndpoint({ ...base, driver: 'remote', endpoint: 'tcp://host' }),
      /needs a host and a port/,
    );
    assert.equal(nodeEndpoint({ ...base, driver: 'docker' }), 'unix:///var/run/docker.sock');
    assert.equal(
      nodeEndpoint({ ...base, env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' }, driver: 'docker' }),
      'tcp://127.0.0.1:2375',
    );
  });

  test('driver options: known keys only, files absolute and present', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), 'x');
    const opts = parseDriverOpts(['cacert=ca.pem,servername=bk.example']);
    assert.deepEqual(nodeDriverOpts({ driver: 'remote', driverOpts: opts!, env: {}, cwd: dir }), {
      cacert: join(dir, 'ca.pem'),
      servername: 'bk.example',
    });
    assert.throws(
      () => nodeDriverOpts({ driver: 'remote', driverOpts: { key: 'nope.pem' }, env: {}, cwd: dir }),
      /--driver-opt key=nope.pem: .*nope.pem does not exist/,
    );
    assert.throws(
      () => nodeDriverOpts({ driver: 'docker', driverOpts: { cacert: 'ca.pem' }, env: {}, cwd: dir }),
      /invalid driver option cacert for docker driver/,
    );
    assert.throws(() => parseDriverOpts(['novalue']), /invalid value "novalue", expecting k=v/);
  });
});

describe('create --append/--node/--leave', () => {
  test('a fleet of the local engine and two daemons, then one leaves', async () => {
    const root = tempDir();
    const ctx = { root, env: {}, cwd: root };
    await createBuilder(ctx, { name: 'fleet', node: 'here', platforms: ['linux/amd64'] });
    await createBuilder(ctx, {
      name: 'fleet',
      append: true,
      node: 'armbox',
      driver: 'remote',
      endpoint: 'tcp://10.0.0.7:1234',
      platforms: ['linux/arm64,linux/arm/v7'],
    });
    const b = await createBuilder(ctx, { name: 'fleet', append: true, node: 'eng', driver: 'docker' });
    assert.equal(b.driver, 'local');
    assert.deepEqual(
      b.nodes.map((n) => [n.name, n.driver, n.endpoint, n.platforms]),
      [
        ['here', 'local', join(root, 'builders', 'fleet'), ['linux/amd64']],
        ['armbox', 'remote', 'tcp://10.0.0.7:1234', ['linux/arm64', 'linux/arm/v7']],
        ['eng', 'docker', 'unix:///var/run/docker.sock', []],
      ],
    );
    // --node on an existing node changes it; its driver is the node's when not given
    const changed = await createBuilder(ctx, { name: 'fleet', node: 'armbox', platforms: ['linux/arm64'] });
    assert.deepEqual(changed.nodes[1]!.platforms, ['linux/arm64']);
    await assert.rejects(
      createBuilder(ctx, { name: 'fleet' }),
      /existing instance for "fleet" but no append mode/,
    );
    await assert.rejects(
      createBuilder(ctx, { name: 'fleet', append: true, node: 'again' }),
      /already has a local node \(here\)/,
    );
    await assert.rejects(
      createBuilder(ctx, { name: 'nosuch', append: true }),
      /failed to find instance "nosuch" for append/,
    );
    await assert.rejects(leaveBuilder(ctx, { name: 'fleet' }), /leave requires node name but --node not set/);
    const left = await leaveBuilder(ctx, { name: 'fleet', node: 'here' });
    assert.equal(left.driver, 'remote');
    assert.deepEqual(
      (await (await BuilderStore.open(root)).get('fleet')).nodes.map((n) => n.name),
      ['armbox', 'eng'],
    );
  });
});
