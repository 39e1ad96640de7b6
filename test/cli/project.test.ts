// `nimbus deploy` with a nimbus.yaml, the real CLI as a process run in the
// project's folder against a real embedded nimbus: a two-function project
// (a file and a directory), an identical second run that changes nothing, an
// edit planned as exactly one update, --dry-run writing nothing, --prune
// (functions and aliases) confined to the file's namespace, and bad input (malformed YAML, a bad field,
// a build error in the second function) stopping before any write.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBin, type Ran } from '../helpers/cli.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

/** Runs the installed `nimbus` command (bin/nimbus.mjs) in a folder (outside NIMBUS_* settings left out). */
function nimbus(cwd: string, url: string, ...args: string[]): Promise<Ran> {
  return nimbusWith({}, cwd, url, ...args);
}

function nimbusWith(env: Record<string, string>, cwd: string, url: string, ...args: string[]): Promise<Ran> {
  return runBin(cwd, args, { NIMBUS_URL: url, NIMBUS_API_KEY: '', NIMBUS_NAMESPACE: '', ...env });
}

const yamlOf = (ns: string, extra = '') => `namespace: ${ns}
functions:
  alpha:
    code: alpha.js
    memoryMb: 192
    env:
      WORD: hello
      COUNT: 3
  beta:
    code: beta # a directory
    timeoutMs: 5000
${extra}`;

describe('nimbus deploy with nimbus.yaml', () => {
  let t: TestPlatform;
  let root: string;
  let n = 0;
  before(async () => {
    t = await startTestPlatform();
    root = await mkdtemp(path.join(os.tmpdir(), 'nimbus-project-'));
  });
  after(async () => {
    await t.close();
    await rm(root, { recursive: true, force: true });
  });

  /** A project folder in a new namespace of its own: alpha.js and beta/ (index.js). */
  async function project(
    yamlExtra = '',
  ): Promise<{ dir: string; ns: string; run: (...a: string[]) => ReturnType<typeof nimbus> }> {
    const ns = `proj-${++n}`;
    const made = await t.request('POST', '/v1/namespaces', { name: ns });
    assert.equal(made.status, 201, made.text);
    const dir = path.join(root, ns);
    await mkdir(path.join(dir, 'beta'), { recursive: true });
    await writeFile(path.join(dir, 'nimbus.yaml'), yamlOf(ns, yamlExtra));
    await writeFile(
      path.join(dir, 'alpha.js'),
      'exports.handler = async () => ({ alpha: process.env.WORD + process.env.COUNT, gen: 1 });',
    );
    await writeFile(path.join(dir, 'beta/index.js'), 'exports.handler = async (e) => ({ beta: e.x ?? null });');
    return { dir, ns, run: (...a) => nimbus(dir, t.url, ...a) };
  }
  const get = (ns: string, p: string) => t.request('GET', p, undefined, { 'x-nimbus-namespace': ns });
  const invoke = (ns: string, name: string, event: unknown = {}) =>
    t.request('POST', `/v1/functions/${name}/invoke`, event, { 'x-nimbus-namespace': ns });

  it('deploys a two-function project; an identical second run changes nothing', async () => {
    const p = await project();
    const first = await p.run('deploy');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /\+ create\s+function alpha\s+process, 192 MB/);
    assert.match(first.stdout, /\+ create\s+function beta/);
    assert.match(first.stdout, /created function alpha v1/);
    assert.match(first.stdout, /created function beta v1/);
    // COUNT: 3 in YAML is a number; the environment gets its text.
    assert.deepEqual((await invoke(p.ns, 'alpha')).json, { alpha: 'hello3', gen: 1 });
    assert.deepEqual((await invoke(p.ns, 'beta', { x: 3 })).json, { beta: 3 });
    assert.equal((await get(p.ns, '/v1/functions/beta')).json.config.timeoutMs, 5000);
    // The project's functions are in its namespace, not in default.
    assert.equal((await t.request('GET', '/v1/functions/alpha')).status, 404);

    const second = await p.run('deploy');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /= unchanged\s+function alpha\s+v1/);
    assert.match(second.stdout, /= unchanged\s+function beta\s+v1/);
    assert.match(second.stdout, /0 to create, 0 to update, 0 to delete, 2 unchanged/);
    assert.match(second.stdout, /nothing to change/);
    assert.equal((await get(p.ns, '/v1/functions/alpha')).json.version, 1);
    assert.equal((await get(p.ns, '/v1/functions/beta')).json.version, 1);
  });

  it('plans an edit of one function as exactly one update; --dry-run writes nothing', async () => {
    const p = await project();
    assert.equal((await p.run('deploy')).code, 0);
    await writeFile(
      path.join(p.dir, 'alpha.js'),
      'exports.handler = async () => ({ alpha: process.env.WORD, gen: 2 });',
    );
    const dry = await p.run('deploy', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /~ update\s+function alpha\s+v1: code/);
    assert.match(dry.stdout, /= unchanged\s+function beta/);
    assert.match(dry.stdout, /0 to create, 1 to update, 0 to delete, 1 unchanged/);
    assert.match(dry.stdout, /dry run: nothing applied/);
    assert.equal((await get(p.ns, '/v1/functions/alpha')).json.version, 1);
    assert.equal((await invoke(p.ns, 'alpha')).json.gen, 1);

    const real = await p.run('deploy');
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /updated function alpha v2/);
    assert.doesNotMatch(real.stdout, /(created|updated) function beta/);
    assert.equal((await invoke(p.ns, 'alpha')).json.gen, 2);
    assert.equal((await get(p.ns, '/v1/functions/beta')).json.version, 1);
  });

  it('keeps what the file no longer declares unless --prune, and prunes only its own namespace', async () => {
    const p = await project();
    assert.equal((await p.run('deploy')).code, 0);
    const extra = await t.request(
      'PUT',
      '/v1/functions/gamma',
      { code: 'exports.handler = async () => 1;' },
      { 'x-nimbus-namespace': p.ns },
    );
    assert.equal(extra.status, 201, extra.text);
    // A function of the same name in another namespace must survive the prune.
    assert.equal((await t.deploy('gamma', 'exports.handler = async () => "default";')).status, 201);

    const kept = await p.run('deploy');
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /! kept\s+function gamma\s+not in nimbus.yaml \(kept; --prune deletes\)/);
    assert.equal((await get(p.ns, '/v1/functions/gamma')).status, 200);

    const dry = await p.run('deploy', '--prune', '--dry-run');
    assert.match(dry.stdout, /- delete\s+function gamma/);
    assert.equal((await get(p.ns, '/v1/functions/gamma')).status, 200);

    const pruned = await p.run('deploy', '--prune');
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /deleted function gamma/);
    assert.equal((await get(p.ns, '/v1/functions/gamma')).status, 404);
    assert.equal((await get(p.ns, '/v1/functions/alpha')).status, 200);
    assert.equal((await t.invoke('gamma')).json, 'default');
  });

  it('refuses malformed YAML with file:line:col and a bad field at its line, before any write', async () => {
    const p = await project();
    await writeFile(path.join(p.dir, 'nimbus.yaml'), `namespace: ${p.ns}\nfunctions:\n  alpha: code: alpha.js\n`);
    const malformed = await p.run('deploy');
    assert.notEqual(malformed.code, 0);
    assert.match(malformed.stderr, /nimbus\.yaml:3:10: malformed YAML/);

    await writeFile(
      path.join(p.dir, 'nimbus.yaml'),
      yamlOf(p.ns)
        .replace('memoryMb: 192', 'memoryMb: 5')
        .replace('timeoutMs: 5000', 'timeoutMs: 5000\n    colour: red'),
    );
    const invalid = await p.run('deploy');
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /nimbus\.yaml:5:5: functions\.alpha\.memoryMb: .*128/);
    assert.match(invalid.stderr, /nimbus\.yaml:12:5: functions\.beta\.colour: unknown field "colour"/);

    await writeFile(path.join(p.dir, 'nimbus.yaml'), yamlOf(p.ns).replace('code: alpha.js', 'code: missing.js'));
    const missing = await p.run('deploy');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nimbus\.yaml:4:5: functions\.alpha\.code: missing\.js does not exist/);
    assert.equal((await get(p.ns, '/v1/functions')).json.functions.length, 0);
  });

  it('applies nothing when the second function does not build', async () => {
    const p = await project();
    await writeFile(path.join(p.dir, 'beta/index.js'), 'exports.handler = async (e) => ({ beta: ');
    const r = await p.run('deploy');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nimbus\.yaml:9:3: functions\.beta: compile_error/);
    assert.match(r.stderr, /nothing was applied: 1 of 2 functions do not deploy/);
    assert.doesNotMatch(r.stdout, /created/);
    assert.equal((await get(p.ns, '/v1/functions/alpha')).status, 404);
    assert.equal((await get(p.ns, '/v1/functions')).json.functions.length, 0);
  });

  it('sets aliases at latest and triggers, and finds them unchanged on the next run', async () => {
    const p = await project(`    aliases:
      live:
        version: latest
triggers:
  nightly:
    type: cron
    schedule: '0 3 * * *'
    function: alpha
`);
    const first = await p.run('deploy');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /alias beta:live -> v1/);
    assert.equal((await get(p.ns, '/v1/functions/beta/aliases/live')).json.version, 1);
    assert.equal((await get(p.ns, '/v1/triggers/nightly')).status, 200);
    await writeFile(path.join(p.dir, 'beta/index.js'), 'exports.handler = async () => ({ beta: "v2" });');
    const second = await p.run('deploy');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /~ update\s+alias beta:live\s+v1 -> latest \(the version this deploy makes\)/);
    assert.match(second.stdout, /= unchanged\s+trigger nightly/);
    assert.equal((await get(p.ns, '/v1/functions/beta/aliases/live')).json.version, 2);
    const third = await p.run('deploy');
    assert.match(third.stdout, /= unchanged\s+alias beta:live\s+latest \(v2\)/);
    assert.match(third.stdout, /nothing to change/);
    // A canary to a version that does not exist is refused before anything is written, at its line.
    const yaml = (await readFile(path.join(p.dir, 'nimbus.yaml'), 'utf8')).replace(
      'version: latest',
      'version: 1\n        weights: { "9": 0.1 }',
    );
    await writeFile(path.join(p.dir, 'nimbus.yaml'), yaml);
    await writeFile(path.join(p.dir, 'beta/index.js'), 'exports.handler = async () => ({ beta: "v3" });');
    const canary = await p.run('deploy');
    assert.equal(canary.code, 2);
    assert.match(canary.stderr, /nimbus\.yaml:13:7: functions\.beta\.aliases\.live: version 9 of beta does not exist/);
    assert.equal((await get(p.ns, '/v1/functions/beta')).json.version, 2);
    assert.equal((await get(p.ns, '/v1/functions/beta/aliases/live')).json.version, 2);
  });

  it('keeps aliases the file no longer declares unless --prune, which deletes only those', async () => {
    const p = await project(`    aliases:
      live:
        version: latest
      canary:
        version: latest
`);
    assert.equal((await p.run('deploy')).code, 0);
    const ns = { 'x-nimbus-namespace': p.ns };
    // An alias made by hand on alpha, whose entry declares no aliases: the file does not declare it either.
    const manual = await t.request('PUT', '/v1/functions/alpha/aliases/manual', { version: 1 }, ns);
    assert.equal(manual.status, 201, manual.text);
    // A trigger the file does not declare names the alias it drops: the prune deletes the trigger first.
    const hook = { type: 'topic', topic: 'old', function: 'beta:canary' };
    assert.equal((await t.request('PUT', '/v1/triggers/old-hook', hook, ns)).status, 201);
    // The same names in another namespace must survive the prune.
    assert.equal((await t.deploy('beta', 'exports.handler = async () => "default";')).status, 201);
    assert.equal((await t.request('PUT', '/v1/functions/beta/aliases/canary', { version: 1 })).status, 201);
    const yaml = (await readFile(path.join(p.dir, 'nimbus.yaml'), 'utf8')).replace(
      '      canary:\n        version: latest\n',
      '',
    );
    await writeFile(path.join(p.dir, 'nimbus.yaml'), yaml);

    const kept = await p.run('deploy');
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /! kept\s+alias beta:canary\s+not in nimbus.yaml/);
    assert.match(kept.stdout, /! kept\s+alias alpha:manual/);
    assert.match(kept.stdout, /= unchanged\s+alias beta:live/);
    assert.equal((await get(p.ns, '/v1/functions/beta/aliases/canary')).status, 200);

    const dry = await p.run('deploy', '--prune', '--dry-run');
    assert.match(dry.stdout, /- delete\s+alias beta:canary/);
    assert.match(dry.stdout, /- delete\s+alias alpha:manual/);
    assert.equal((await get(p.ns, '/v1/functions/beta/aliases/canary')).status, 200);

    const pruned = await p.run('deploy', '--prune');
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /deleted alias beta:canary/);
    assert.match(pruned.stdout, /deleted alias alpha:manual/);
    assert.match(pruned.stdout, /deleted trigger old-hook[^]*deleted alias beta:canary/);
    assert.equal((await get(p.ns, '/v1/functions/beta/aliases/canary')).status, 404);
    assert.equal((await get(p.ns, '/v1/functions/alpha/aliases/manual')).status, 404);
    assert.equal((await get(p.ns, '/v1/functions/beta/aliases/live')).json.version, 1);
    assert.equal((await t.request('GET', '/v1/functions/beta/aliases/canary')).status, 200);
    const again = await p.run('deploy', '--prune');
    assert.match(again.stdout, /nothing to change/);
  });

  it('refuses a trigger schedule the server would refuse before deploying anything', async () => {
    const p = await project(`triggers:
  nightly:
    type: cron
    schedule: 'every night'
    function: alpha
`);
    const r = await p.run('deploy');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nimbus\.yaml:15:5: triggers\.nightly: invalid schedule "every night"/);
    assert.equal((await get(p.ns, '/v1/functions')).json.functions.length, 0);
  });

  it('says exactly what was applied when a step fails after others were applied', async () => {
    // Each function alone is within the namespace's quota of one function, so both dry runs pass; the second deploy is refused.
    const ns = `proj-${++n}`;
    assert.equal((await t.request('POST', '/v1/namespaces', { name: ns, quotas: { maxFunctions: 1 } })).status, 201);
    const dir = path.join(root, ns);
    await mkdir(path.join(dir, 'beta'), { recursive: true });
    await writeFile(path.join(dir, 'nimbus.yaml'), yamlOf(ns));
    await writeFile(path.join(dir, 'alpha.js'), 'exports.handler = async () => 1;');
    await writeFile(path.join(dir, 'beta/index.js'), 'exports.handler = async () => 2;');
    const r = await nimbus(dir, t.url, 'deploy');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed at function beta: deploying function beta: .*maxFunctions/);
    assert.match(r.stderr, /applied before the failure: created function alpha v1\n/);
    assert.match(r.stderr, /not applied: function beta\n/);
    assert.equal((await get(ns, '/v1/functions/alpha')).status, 200);
    assert.equal((await get(ns, '/v1/functions/beta')).status, 404);
  });

  it('names the secrets that must exist; a missing one stops the deploy before any write', async () => {
    const p = await project();
    const withSecret = yamlOf(p.ns).replace(
      '      COUNT: 3',
      '      COUNT: 3\n    secrets:\n      DB_PASSWORD: db-pass',
    );
    await writeFile(path.join(p.dir, 'nimbus.yaml'), withSecret);
    await writeFile(
      path.join(p.dir, 'alpha.js'),
      'exports.handler = async () => ({ len: process.env.DB_PASSWORD.length });',
    );
    const missing = await p.run('deploy');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nimbus\.yaml:9:5: functions\.alpha: .*db-pass/);
    assert.match(missing.stderr, /nothing was applied/);
    assert.equal((await get(p.ns, '/v1/functions')).json.functions.length, 0);

    const put = await t.request(
      'PUT',
      '/v1/secrets/db-pass',
      { value: 's3cret-value' },
      { 'x-nimbus-namespace': p.ns },
    );
    assert.equal(put.status, 201, put.text);
    const r = await p.run('deploy');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /secrets that must exist: db-pass \(exists\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret-value/);
    assert.deepEqual((await invoke(p.ns, 'alpha')).json, { len: 12 });
  });

  it('deploys the functions a destination or a sequence names before the ones that name them', async () => {
    const p = await project();
    const yaml = yamlOf(p.ns).replace(
      '      COUNT: 3',
      '      COUNT: 3\n    destinations:\n      onFailure: { function: beta }',
    );
    await writeFile(
      path.join(p.dir, 'nimbus.yaml'),
      `${yaml}  pipeline:\n    kind: sequence\n    steps: [alpha, beta]\n`,
    );
    const r = await p.run('deploy');
    assert.equal(r.code, 0, r.stderr);
    const order = ['beta', 'alpha', 'pipeline'].map((f) => r.stdout.indexOf(`created function ${f} v1`));
    assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, r.stdout);
    const alpha = await get(p.ns, '/v1/functions/alpha');
    assert.deepEqual(alpha.json.config.destinations, { onFailure: { function: 'beta' } });
    const pipeline = await get(p.ns, '/v1/functions/pipeline');
    assert.equal(pipeline.json.config.kind, 'sequence');
    assert.deepEqual(pipeline.json.config.steps, ['alpha', 'beta']);
    const again = await p.run('deploy');
    assert.match(again.stdout, /0 to create, 0 to update, 0 to delete, 3 unchanged/);
    // Sequences of functions that exist are dry-run like any function.
    await writeFile(
      path.join(p.dir, 'nimbus.yaml'),
      `${yaml}  pipeline:\n    kind: sequence\n    steps: [beta, alpha]\n  solo:\n    kind: sequence\n    steps: [beta]\n`,
    );
    const reordered = await p.run('deploy', '--dry-run');
    assert.equal(reordered.code, 0, reordered.stderr);
    assert.match(reordered.stdout, /~ update\s+function pipeline\s+v1: steps/);
    assert.match(reordered.stdout, /\+ create\s+function solo\s+sequence beta\n/);

    // Two new functions that name each other cannot be deployed in any order: refused before any write.
    const q = await project();
    const cyclic = yamlOf(q.ns)
      .replace('      COUNT: 3', '      COUNT: 3\n    destinations:\n      onFailure: { function: beta }')
      .replace('    timeoutMs: 5000', '    timeoutMs: 5000\n    destinations:\n      onSuccess: { function: alpha }');
    await writeFile(path.join(q.dir, 'nimbus.yaml'), cyclic);
    const refused = await q.run('deploy');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /functions alpha -> beta -> alpha name each other/);
    assert.equal((await get(q.ns, '/v1/functions')).json.functions.length, 0);
  });

  it("deploys a file without namespace: into the CLI's current one (NIMBUS_NAMESPACE)", async () => {
    const p = await project();
    await writeFile(path.join(p.dir, 'nimbus.yaml'), yamlOf(p.ns).replace(`namespace: ${p.ns}\n`, ''));
    const r = await nimbusWith({ NIMBUS_NAMESPACE: p.ns }, p.dir, t.url, 'deploy');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`plan for nimbus.yaml (namespace ${p.ns} (NIMBUS_NAMESPACE)):`), r.stdout);
    assert.equal((await get(p.ns, '/v1/functions/alpha')).status, 200);
    assert.equal((await t.request('GET', '/v1/functions/alpha')).status, 404);
  });

  it('without a path and without a nimbus.yaml, or with flags of the other mode, says what to give', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty, { recursive: true });
    const r = await nimbus(empty, t.url, 'deploy');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no path given and no nimbus\.yaml in/);
    // One function's flags and the project's flags do not mix.
    const p = await project();
    const pruneOne = await p.run('deploy', 'alpha.js', '--prune');
    assert.equal(pruneOne.code, 2);
    assert.match(pruneOne.stderr, /--dry-run and --prune plan a nimbus\.yaml; alpha\.js is one function/);
    const memory = await p.run('deploy', '--memory', '512');
    assert.equal(memory.code, 2);
    assert.match(memory.stderr, /--memory apply to one function; in nimbus\.yaml say it under functions\.<name>/);
    assert.equal((await get(p.ns, '/v1/functions')).json.functions.length, 0);
  });
});
