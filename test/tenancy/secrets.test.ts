// Encrypted secrets end to end, on a real `nimbus serve` process logging at
// debug level: the API (create, replace, list, delete, bad input), the deploy
// checks, a process and an isolate function reading their secret from env,
// a changed secret reaching the next call (warm sandboxes recycled), namespaces
// kept apart, and then the value searched for everywhere it must not be: every
// API answer of the run, the activation records, the data directory's files
// (the SQLite database and its WAL among them) and the process's own output.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toTestResponse, type TestResponse } from '../helpers/platform.ts';
import { NodeProcess } from '../cluster/node-process.ts';
import { READS_SECRET, filesHolding, fnv, secretValue } from './secrets-fixture.ts';

describe('secrets (embedded, nimbus serve at debug level)', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-secrets-'));
  let proc: NodeProcess;
  let url = '';
  /** Every answer of the API in this suite, searched for the values at the end. */
  const answers: string[] = [];
  const values: string[] = [];
  const api = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const r: TestResponse = await toTestResponse(res);
    answers.push(`${method} ${p} ${r.status} ${[...res.headers].join(' ')} ${r.text}`);
    return r;
  };
  const first = secretValue('first');
  const second = secretValue('second');
  const other = secretValue('other-namespace');
  // A plain env value, stored and shown as env is: the searches below must find it (they can fail).
  const plain = secretValue('plain-env');
  values.push(first, second, other);
  const engines: string[] = [];

  before(async () => {
    ({ proc } = await NodeProcess.start(
      'secrets-serve',
      ['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'debug'],
      { NIMBUS_MASTER_KEY: '', NIMBUS_LOG_LEVEL: 'debug' },
      /nimbus is running at (http:\/\/\S+)/,
      60_000,
    ).then((s) => ((url = s.match[1] ?? ''), s)));
    const report = (await api('GET', '/v1/engines')).json.engines as Record<string, { available?: boolean }>;
    // The value reaches every engine through the sandbox spec's env; the microVM is left out for its start time.
    for (const kind of ['process', 'isolate', 'container']) if (report[kind]?.available) engines.push(kind);
  });
  after(async () => {
    await proc?.kill('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('makes a private 32-byte master key in the data directory on first start', async () => {
    const file = path.join(dataDir, 'master.key');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await readFile(file)).length, 32);
  });

  it('creates (201), replaces (200) and lists secrets by name and dates only', async () => {
    const made = await api('PUT', '/v1/secrets/db-pass', { value: 'placeholder' });
    assert.equal(made.status, 201, made.text);
    assert.deepEqual(Object.keys(made.json).sort(), ['createdAt', 'name', 'updatedAt']);
    const replaced = await api('PUT', '/v1/secrets/db-pass', { value: first });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(replaced.json.createdAt, made.json.createdAt);
    const list = await api('GET', '/v1/secrets');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.secrets.map((s: Record<string, unknown>) => Object.keys(s).sort()),
      [['createdAt', 'name', 'updatedAt']],
    );
    assert.equal(list.json.secrets[0].name, 'db-pass');
  });

  it('refuses bad names and values with what to do, storing nothing', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/v1/secrets/1bad', { value: 'x' }, 400, /invalid secret name "1bad": use 1-64 letters/],
      ['/v1/secrets/big', { value: 'x'.repeat(64 * 1024 + 1) }, 413, /at most 65536 bytes/],
      ['/v1/secrets/nul', { value: 'a\u0000b' }, 400, /NUL character/],
      ['/v1/secrets/novalue', {}, 400, /\{"value": "<text>"\}/],
      ['/v1/secrets/number', { value: 42 }, 400, /string value/],
      ['/v1/secrets/extra', { value: 'x', note: 1 }, 400, /unknown field "note"/],
      ['/v1/secrets/broken', `{"value": "${first}" x}`, 400, /not valid JSON/],
    ];
    for (const [p, body, status, message] of cases) {
      const r = await api('PUT', p, body);
      assert.equal(r.status, status, `${p}: ${r.text}`);
      assert.match(r.json.error.message, message);
    }
    const names = (await api('GET', '/v1/secrets')).json.secrets.map((s: { name: string }) => s.name);
    assert.deepEqual(names, ['db-pass']);
    assert.equal((await api('DELETE', '/v1/secrets/never-made')).status, 404);
  });

  it('refuses a deploy that maps a missing secret, or an env name also in env', async () => {
    const missing = await api('PUT', '/v1/functions/needs-missing', {
      code: READS_SECRET,
      secrets: { DB_PASSWORD: 'db-pass', API_TOKEN: 'api-token' },
    });
    assert.equal(missing.status, 400);
    assert.match(missing.json.error.message, /"api-token" does not exist in namespace "default"/);
    const both = await api('PUT', '/v1/functions/needs-missing', {
      code: READS_SECRET,
      env: { DB_PASSWORD: 'plain' },
      secrets: { DB_PASSWORD: 'db-pass' },
    });
    assert.equal(both.status, 400);
    assert.match(both.json.error.message, /DB_PASSWORD is in both env and secrets/);
    const badName = await api('PUT', '/v1/functions/needs-missing', {
      code: READS_SECRET,
      secrets: { DB_PASSWORD: 'no spaces' },
    });
    assert.equal(badName.status, 400);
    assert.match(badName.json.error.message, /secrets values are secret names/);
    assert.equal((await api('GET', '/v1/functions/needs-missing')).status, 404);
  });

  it('hands the value to process, isolate and container functions at sandbox start, and a changed value to the next call', async (t) => {
    t.diagnostic(`engines: ${engines.join(', ')}`);
    if (engines.length === 0) return t.skip('neither the process nor the isolate engine runs here');
    for (const engine of engines) {
      const name = `reader-${engine}`;
      const deployed = await api('PUT', `/v1/functions/${name}`, {
        code: READS_SECRET,
        engine,
        env: { PLAIN: plain },
        secrets: { DB_PASSWORD: 'db-pass' },
      });
      assert.equal(deployed.status, 201, deployed.text);
      assert.deepEqual(deployed.json.config.secrets, { DB_PASSWORD: 'db-pass' });
      const one = await api('POST', `/v1/functions/${name}/invoke`, {});
      assert.equal(one.status, 200, one.text);
      assert.deepEqual(one.json, { fnv: fnv(first), length: first.length, plain });
      const warm = await api('POST', `/v1/functions/${name}/invoke`, {});
      assert.equal(warm.headers.get('x-nimbus-cold-start'), 'false', `${engine}: the second call runs warm`);
    }
    assert.equal((await api('PUT', '/v1/secrets/db-pass', { value: second })).status, 200);
    for (const engine of engines) {
      const after = await api('POST', `/v1/functions/reader-${engine}/invoke`, {});
      assert.equal(after.status, 200, after.text);
      assert.deepEqual(after.json, { fnv: fnv(second), length: second.length, plain }, engine);
      assert.equal(after.headers.get('x-nimbus-cold-start'), 'true', `${engine}: the warm sandbox was recycled`);
    }
  });

  it('refuses to delete a secret a function uses (409 naming it), and deletes it once unused', async (t) => {
    if (engines.length === 0) return t.skip('no function was deployed');
    const refused = await api('DELETE', '/v1/secrets/db-pass');
    assert.equal(refused.status, 409, refused.text);
    for (const engine of engines)
      assert.match(refused.json.error.message, new RegExp(`reader-${engine} \\(version 1\\)`));
    for (const engine of engines) assert.equal((await api('DELETE', `/v1/functions/reader-${engine}`)).status, 200);
    const gone = await api('DELETE', '/v1/secrets/db-pass');
    assert.equal(gone.status, 200, gone.text);
    assert.deepEqual((await api('GET', '/v1/secrets')).json.secrets, []);
    assert.equal((await api('PUT', '/v1/secrets/db-pass', { value: second })).status, 201);
  });

  it("keeps a namespace's secrets to it: another namespace neither lists, maps nor deletes them", async () => {
    const team = { 'x-nimbus-namespace': 'team-a' };
    assert.equal((await api('POST', '/v1/namespaces', { name: 'team-a' })).status, 201);
    assert.equal((await api('PUT', '/v1/secrets/team-only', { value: other }, team)).status, 201);
    assert.deepEqual(
      (await api('GET', '/v1/secrets', undefined, team)).json.secrets.map((s: { name: string }) => s.name),
      ['team-only'],
    );
    const names = (await api('GET', '/v1/secrets')).json.secrets.map((s: { name: string }) => s.name);
    assert.ok(!names.includes('team-only'), `default lists ${names}`);
    const mapped = await api('PUT', '/v1/functions/borrower', {
      code: READS_SECRET,
      secrets: { DB_PASSWORD: 'team-only' },
    });
    assert.equal(mapped.status, 400);
    assert.match(mapped.json.error.message, /"team-only" does not exist in namespace "default"/);
    assert.equal((await api('DELETE', '/v1/secrets/team-only')).status, 404);
    assert.equal((await api('GET', '/v1/secrets', undefined, team)).json.secrets.length, 1);
    // A deleted namespace takes its secrets along: made again, it has none.
    assert.equal((await api('DELETE', '/v1/namespaces/team-a')).status, 200);
    assert.equal((await api('POST', '/v1/namespaces', { name: 'team-a' })).status, 201);
    assert.deepEqual((await api('GET', '/v1/secrets', undefined, team)).json.secrets, []);
  });

  it('lets a call in flight finish on the old value while the next call starts with the new one', async (t) => {
    if (!engines.includes('process')) return t.skip('the process engine does not run here');
    const third = secretValue('third');
    values.push(third);
    const slow = READS_SECRET.replace(
      'exports.handler = async () => {',
      'exports.handler = async () => { await new Promise((r) => setTimeout(r, 1500));',
    );
    const d = await api('PUT', '/v1/functions/slow-reader', { code: slow, secrets: { DB_PASSWORD: 'db-pass' } });
    assert.equal(d.status, 201, d.text);
    assert.equal((await api('POST', '/v1/functions/slow-reader/invoke', {})).json.fnv, fnv(second));
    const inFlight = api('POST', '/v1/functions/slow-reader/invoke', {});
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await api('PUT', '/v1/secrets/db-pass', { value: third })).status, 200);
    const finished = await inFlight;
    assert.equal(finished.status, 200, finished.text);
    assert.equal(finished.json.fnv, fnv(second), 'the call in flight ran to its end on the value it started with');
    const next = await api('POST', '/v1/functions/slow-reader/invoke', {});
    assert.equal(next.json.fnv, fnv(third));
    assert.equal(next.headers.get('x-nimbus-cold-start'), 'true');
  });

  it('leaves no value in any API answer, activation record, file of the data directory or line of the log', async () => {
    const records = await api('GET', '/v1/activations?limit=1000');
    assert.equal(records.status, 200);
    for (const r of records.json.activations as { id: string }[]) await api('GET', `/v1/activations/${r.id}`);
    await api('GET', '/v1/functions');
    await api('GET', '/v1/sandboxes');
    await api('GET', '/metrics');
    assert.ok(answers.length > 20);
    if (engines.length) {
      assert.ok(
        answers.some((a) => a.includes(plain)),
        'the search finds a plain env value in the answers',
      );
      assert.ok((await filesHolding(dataDir, [plain])).length > 0, 'the search finds a plain env value in the store');
    }
    for (const v of values) {
      const inAnswers = answers.filter((a) => a.includes(v));
      assert.deepEqual(inAnswers, [], 'an API answer holds a secret value');
    }
    // Everything the platform wrote: the SQLite database with its WAL and shm, artifacts, run state.
    const db = await filesHolding(dataDir, values, (p) => p.endsWith('master.key'));
    assert.deepEqual(db, [], 'a file of the data directory holds a secret value');
    const dbFiles = (await filesHolding(dataDir, ['SQLite format 3'])).filter((p) => /\.db/.test(p));
    assert.ok(dbFiles.length > 0, 'the SQLite database was searched');
    assert.ok(proc.output.length > 1000 && /"level":20/.test(proc.output), 'the log was captured at debug level');
    for (const v of values) assert.ok(!proc.output.includes(v), 'the platform log holds a secret value');
  });
});
