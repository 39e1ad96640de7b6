// `nimbus report cost` against a running `nimbus serve`: a short spiky demo
// (real calls, isolate engine) reported as JSON, a steady one for contrast, the
// table and chart, the price flag of serve, and bad input refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, serve, type Served } from '../helpers/cli.ts';

describe('nimbus report cost', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-cost-cli-'));
  let served: Served;
  let env: Record<string, string>;
  before(async () => {
    served = await serve(['--data-dir', path.join(dir, 'data'), '--cost-vm-hour-usd', '0.17']);
    env = { NIMBUS_URL: served.url, NIMBUS_NAMESPACE: '' };
  });
  after(async () => {
    await served?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('--demo spiky drives real calls and reports them; steady keeps the VMs busier', async () => {
    const spiky = await runCli(
      ['report', 'cost', '--demo', 'spiky', '--duration', '8s', '--engine', 'isolate', '--json'],
      env,
    );
    assert.equal(spiky.code, 0, spiky.stderr);
    const s = JSON.parse(spiky.stdout);
    assert.equal(s.prices.vmHourUsd, 0.17, "serve's --cost-vm-hour-usd");
    assert.ok(s.totals.calls >= 8, `calls ${s.totals.calls}`);
    assert.ok(s.buckets.length >= 8 && s.buckets.length <= 13, `buckets ${s.buckets.length}`);
    assert.ok(s.peakConcurrency >= 4, `a burst runs calls at once: peak ${s.peakConcurrency}`);
    assert.ok(s.totals.serverlessUsd > 0 && s.totals.vmUsd > 0);
    const steady = await runCli(['report', 'cost', '--demo', 'steady', '--duration', '6s', '--json'], env);
    assert.equal(steady.code, 0, steady.stderr);
    const t = JSON.parse(steady.stdout);
    assert.ok(
      t.totals.utilization > s.totals.utilization,
      `steady ${t.totals.utilization} > spiky ${s.totals.utilization}`,
    );
    assert.ok(t.totals.vmOverServerless < s.totals.vmOverServerless, 'serverless wins by more on the spiky load');
  });

  it('prints a table and a chart of both series', async () => {
    const r = await runCli(['report', 'cost', '--from', '10m', '--bucket', '1m'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /bucket \(UTC\)\s+calls\s+peak\s+serverless\s+VMs\s+VM\/serverless/);
    assert.match(r.stdout, /^total\s+\d+/m);
    assert.match(r.stdout, /^serverless +│[ ▁▂▃▄▅▆▇█]{10,11}│$/m);
    assert.match(r.stdout, /^VMs +│[▁▂▃▄▅▆▇█]{10,11}│$/m);
    assert.match(r.stdout, /serverless is .* cheaper here|VMs are .* cheaper here/);
    const priced = await runCli(
      ['report', 'cost', '--from', '10m', '--vm-hour-usd', '1', '--vm-vcpus', '4', '--json'],
      env,
    );
    assert.equal(priced.code, 0, priced.stderr);
    assert.deepEqual([JSON.parse(priced.stdout).prices.vmHourUsd, JSON.parse(priced.stdout).prices.vmVcpus], [1, 4]);
    const empty = await runCli(
      ['report', 'cost', '--from', '2020-01-01T00:00:00Z', '--to', '2020-01-01T00:30:00Z'],
      env,
    );
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /no finished calls were recorded in this window/);
  });

  it('refuses bad input naming the fix', async () => {
    const wobbly = await runCli(['report', 'cost', '--demo', 'wobbly'], env);
    assert.equal(wobbly.code, 2);
    assert.match(wobbly.stderr, /--demo takes spiky or steady/);
    const long = await runCli(['report', 'cost', '--demo', 'spiky', '--duration', '1h'], env);
    assert.equal(long.code, 2);
    assert.match(long.stderr, /from 5s to 5m/);
    const bucket = await runCli(['report', 'cost', '--bucket', 'often'], env);
    assert.equal(bucket.code, 1);
    assert.match(bucket.stderr, /bad_request: bucket must be a number and a unit/);
    const far = await runCli(['report', 'cost', '--demo', 'spiky', '--duration', '5s'], {
      ...env,
      NIMBUS_URL: 'http://192.0.2.1:8080',
    });
    assert.equal(far.code, 2);
    assert.match(far.stderr, /only at a nimbus on this machine/);
    const price = await runCli(['serve', '--cost-vm-hour-usd', 'cheap']);
    assert.equal(price.code, 2);
    assert.match(price.stderr, /--cost-vm-hour-usd must be a number from 0 to 1000/);
  });
});
