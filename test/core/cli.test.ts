// The `nimbus` CLI end to end against a real `nimbus serve`: deploy a file and
// a directory, invoke sync and async, list, get, activations, logs, delete,
// and clear errors with non-zero exits. Then its defaults: --help, the flags and
// the client's URL all take them from config/options.ts, and the platform flags
// shared by serve and invoker behave the same on both.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  COMPUTED_DEFAULTS,
  DEFAULTS,
  FunctionDefaults,
  NimbusOptions,
  PROCESS_LOG_LEVEL,
  resolveConfig,
} from '../../src/config/options.ts';
import { apiBase } from '../../src/cli/client.ts';
import { INVOKER_FLAGS } from '../../src/cli/invoker.ts';
import { PLATFORM_FLAGS, SHARED_FLAGS } from '../../src/cli/platform-flags.ts';
import { SERVE_FLAGS } from '../../src/cli/serve.ts';
import { ROOT, runCli, serve, type Served } from '../helpers/cli.ts';

describe('nimbus CLI', () => {
  let server: Served;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-cli-'));
    server = await serve(['--data-dir', path.join(dir, 'data')]);
    env = { NIMBUS_URL: server.url };
  });
  after(async () => {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys a file, invokes it, lists and inspects it', async () => {
    const file = path.join(dir, 'greet.ts');
    await writeFile(
      file,
      'export const handler = async (e: { who?: string }) => { console.log("greeting", e.who); return `hi ${e.who} ${process.env.PUNCT}`; };',
    );
    const d = await runCli(['deploy', file, '--memory', '192', '--env', 'PUNCT=!'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /deployed greet version 1 \(engine process\)/);
    const inv = await runCli(['invoke', 'greet', '--data', '{"who":"cli"}'], env);
    assert.equal(inv.code, 0, inv.stderr);
    assert.equal(inv.stdout.trim(), '"hi cli !"');
    const list = await runCli(['list'], env);
    assert.match(list.stdout, /greet\tv1\tprocess\t192 MB/);
    const get = await runCli(['get', 'greet'], env);
    assert.equal(JSON.parse(get.stdout).config.env.PUNCT, '!');
    const acts = await runCli(['activations', '--function', 'greet'], env);
    const id = acts.stdout.split('\t')[0] ?? '';
    assert.match(acts.stdout, /greet\tsuccess\tcold/);
    const logs = await runCli(['logs', id], env);
    assert.match(logs.stdout, /greeting cli/);
  });

  it('deploys a directory with an npm dependency (the TypeScript example)', async () => {
    const d = await runCli(['deploy', path.join(ROOT, 'examples/greeter-ts')], env);
    assert.equal(d.code, 0, d.stderr);
    const inv = await runCli(['invoke', 'greeter-ts', '--data', `{"name":"dir","since":${Date.now() - 120_000}}`], env);
    assert.deepEqual(JSON.parse(inv.stdout), { greeting: 'Hello from TypeScript, dir!', ago: '2 minutes' });
  });

  it('invokes async and prints the activation id', async () => {
    const r = await runCli(['invoke', 'greet', '--async', '--data', '{"who":"later"}'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).activationId, /^[0-9a-f]{32}$/);
  });

  it('fails clearly with non-zero exits', async () => {
    const missing = await runCli(['invoke', 'nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found: function "nope" does not exist/);
    const badJson = await runCli(['invoke', 'greet', '--data', '{oops'], env);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /--data is not valid JSON/);
    const badFile = await runCli(['deploy', path.join(dir, 'absent.js')], env);
    assert.equal(badFile.code, 2);
    const noDataFile = await runCli(['invoke', 'greet', '--data', `@${path.join(dir, 'absent.json')}`], env);
    assert.equal(noDataFile.code, 2);
    assert.match(noDataFile.stderr, /cannot read --data @.*absent\.json \(no such file\)/);
    const broken = path.join(dir, 'broken.js');
    await writeFile(broken, 'exports.handler = (;');
    const compile = await runCli(['deploy', broken], env);
    assert.equal(compile.code, 1);
    assert.match(compile.stderr, /compile_error: the function does not build/);
    const down = await runCli(['list'], { NIMBUS_URL: 'http://127.0.0.1:9' });
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach nimbus/);
    const usage = await runCli(['deploy'], env);
    assert.equal(usage.code, 2);
  });

  it('deletes a function', async () => {
    const r = await runCli(['delete', 'greet'], env);
    assert.equal(r.code, 0);
    assert.equal((await runCli(['get', 'greet'], env)).code, 1);
  });
});

/** Runs the CLI to its end, killed after 60 s (a bad flag that slipped through must not leave a server running). */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The help of one flag, its wrapped lines joined. */
function helpOf(help: string, flag: string): string {
  const entries = help.split(/\n(?= {2}-)/).map((entry) => entry.replace(/\s+/g, ' ').trim());
  const entry = entries.find((e) => e.startsWith(`${flag} `));
  assert.ok(entry, `${flag} is not in:\n${help}`);
  return entry;
}

const DAY_MS = 86_400_000;

describe('nimbus CLI defaults and platform flags', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-cli-flags-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("documents every option's default in config/options.ts (computed ones say how, as COMPUTED_DEFAULTS does)", async () => {
    const source = await readFile(path.join(ROOT, 'src/config/options.ts'), 'utf8');
    for (const key of [...Object.keys(NimbusOptions.shape), ...Object.keys(FunctionDefaults.shape)]) {
      const m = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\n\\s+${key}: `).exec(source);
      assert.ok(m, `option ${key} has no doc comment`);
      const doc = (m[1] ?? '').replace(/\s*\*\s*/g, ' ');
      assert.match(doc, /@default \S/, `option ${key} does not document its default`);
      const computed = (COMPUTED_DEFAULTS as Record<string, string>)[key];
      if (computed)
        assert.ok(
          doc.includes(`@default ${computed}`),
          `${key}: @default says otherwise than COMPUTED_DEFAULTS ("${computed}")`,
        );
    }
  });

  it('--help of serve and invoker shows the defaults of config/options.ts and the variable of each flag', async () => {
    const [serveHelp, invokerHelp, setupHelp] = await Promise.all([
      cli(['serve', '--help']),
      cli(['invoker', '--help']),
      cli(['setup', '--help']),
    ]);
    assert.equal(serveHelp.code, 0, serveHelp.stderr);
    const expected: Record<string, string> = {
      '--port': `default: ${DEFAULTS.port}; env NIMBUS_PORT`,
      '--functions-port': `default: ${COMPUTED_DEFAULTS.functionsPort}; env NIMBUS_FUNCTIONS_PORT`,
      '--host': `default: ${DEFAULTS.host}; env NIMBUS_HOST`,
      '--data-dir': `default: ${DEFAULTS.dataDir}; env NIMBUS_DATA_DIR`,
      '--bus': `default: ${DEFAULTS.bus}; env NIMBUS_BUS`,
      '--store': `default: ${DEFAULTS.store}; env NIMBUS_STORE`,
      '--invoker-id': `default: ${DEFAULTS.invokerId}; env NIMBUS_INVOKER_ID`,
      '--log-level': `default: ${PROCESS_LOG_LEVEL}; env NIMBUS_LOG_LEVEL`,
      '--api-key': `default: ${COMPUTED_DEFAULTS.apiKey}; env NIMBUS_API_KEY`,
      '--max-sandboxes-total': `default: ${COMPUTED_DEFAULTS.maxSandboxesTotal}; env NIMBUS_MAX_SANDBOXES_TOTAL`,
      '--sandbox-memory-total-mb': `default: ${COMPUTED_DEFAULTS.sandboxMemoryTotalMb}; env NIMBUS_SANDBOX_MEMORY_TOTAL_MB`,
      '--egress-allow': 'default: none, the public internet only; env NIMBUS_EGRESS_ALLOW',
      '--activation-retention': `default: ${DEFAULTS.activationRetentionMs / DAY_MS}d; env NIMBUS_ACTIVATION_RETENTION`,
      '--activation-retention-per-function': `default: ${DEFAULTS.activationRetentionPerFunction}; env NIMBUS_ACTIVATION_RETENTION_PER_FUNCTION`,
    };
    assert.deepEqual(
      [DEFAULTS.port, DEFAULTS.host, DEFAULTS.dataDir, PROCESS_LOG_LEVEL, DEFAULTS.activationRetentionMs / DAY_MS],
      [8080, '127.0.0.1', '.nimbus', 'info', 7],
      'the defaults as before',
    );
    for (const [flag, text] of Object.entries(expected))
      assert.ok(
        helpOf(serveHelp.stdout, flag).endsWith(`(${text})`),
        `serve ${flag}: ${helpOf(serveHelp.stdout, flag)}`,
      );
    for (const key of SHARED_FLAGS) {
      const flag = PLATFORM_FLAGS[key].flag.split(' ')[0] ?? '';
      assert.equal(
        helpOf(invokerHelp.stdout, flag),
        helpOf(serveHelp.stdout, flag),
        `${flag} reads the same in serve and invoker`,
      );
    }
    assert.ok(helpOf(invokerHelp.stdout, '--data-dir').endsWith(`(default: ${DEFAULTS.dataDir}; env NIMBUS_DATA_DIR)`));
    assert.ok(
      helpOf(invokerHelp.stdout, '--log-level').endsWith(`(default: ${PROCESS_LOG_LEVEL}; env NIMBUS_LOG_LEVEL)`),
    );
    assert.ok(helpOf(setupHelp.stdout, '--data-dir').endsWith(`(default: ${DEFAULTS.dataDir}; env NIMBUS_DATA_DIR)`));
  });

  it('the client talks to where serve listens by default unless NIMBUS_URL says otherwise', () => {
    const saved = process.env.NIMBUS_URL;
    try {
      delete process.env.NIMBUS_URL;
      assert.equal(apiBase(), `http://${DEFAULTS.host}:${DEFAULTS.port}`);
      process.env.NIMBUS_URL = 'http://127.0.0.1:9999/';
      assert.equal(apiBase(), 'http://127.0.0.1:9999');
    } finally {
      if (saved === undefined) delete process.env.NIMBUS_URL;
      else process.env.NIMBUS_URL = saved;
    }
  });

  it('with no flag nor variable, serve and invoker configure the platform exactly as options.ts does', () => {
    const { invokerId: _id, ...fromInvoker } = resolveConfig(INVOKER_FLAGS.read({}, {}));
    const { invokerId: _local, ...plain } = resolveConfig({});
    assert.deepEqual(resolveConfig(SERVE_FLAGS.read({}, {})), resolveConfig({}));
    assert.deepEqual(fromInvoker, plain);
    assert.equal(SERVE_FLAGS.read({}, {}).logLevel, PROCESS_LOG_LEVEL);
    assert.match(INVOKER_FLAGS.read({}, {}).invokerId ?? '', /^[a-zA-Z0-9_-]+-\d+$/);
  });

  it('the shared flags read the same values on serve and invoker, from the flag before the variable', () => {
    const given = { maxSandboxesTotal: '7', activationRetention: '36h', egressAllow: ['10.0.0.0/8', 'fd00::/8'] };
    const env = {
      NIMBUS_MAX_SANDBOXES_TOTAL: '9',
      NIMBUS_SANDBOX_MEMORY_TOTAL_MB: '512',
      NIMBUS_ACTIVATION_RETENTION_PER_FUNCTION: '0',
      NIMBUS_EGRESS_ALLOW: '192.168.0.0/16',
    };
    const pick = (o: Record<string, unknown>) => Object.fromEntries(SHARED_FLAGS.map((k) => [k, o[k]]));
    const want = {
      maxSandboxesTotal: 7,
      sandboxMemoryTotalMb: 512,
      egressAllow: ['10.0.0.0/8', 'fd00::/8'],
      activationRetentionMs: 36 * 3_600_000,
      activationRetentionPerFunction: 0,
    };
    assert.deepEqual(pick(SERVE_FLAGS.read(given, env)), want);
    assert.deepEqual(pick(INVOKER_FLAGS.read(given, env)), want);
    const fromEnvList = { NIMBUS_EGRESS_ALLOW: ' 10.1.0.0/16, ,::1/128 ', NIMBUS_ACTIVATION_RETENTION: '0' };
    for (const flags of [SERVE_FLAGS, INVOKER_FLAGS]) {
      const o = flags.read({}, fromEnvList);
      assert.deepEqual([o.egressAllow, o.activationRetentionMs], [['10.1.0.0/16', '::1/128'], 0]);
    }
  });

  it('a bad value of each kind exits 2 with a message naming the flag and a good value, the same on serve and invoker', async () => {
    const data = ['--data-dir', path.join(dir, 'data')];
    const shared: [string[], Record<string, string>, RegExp][] = [
      [['--max-sandboxes-total', '0'], {}, /^nimbus: --max-sandboxes-total must be a whole number ≥ 1, got "0"\n$/],
      [
        ['--sandbox-memory-total-mb', '64'],
        {},
        /^nimbus: --sandbox-memory-total-mb must be a whole number ≥ 128, got "64"\n$/,
      ],
      [
        ['--activation-retention-per-function', 'ten'],
        {},
        /^nimbus: --activation-retention-per-function must be a whole number such as 10000 \(or 0 for no limit\), got "ten"\n$/,
      ],
      [
        ['--activation-retention', '7y'],
        {},
        /^nimbus: --activation-retention must be an age such as 7d, 12h, 30m or 90s \(or 0 to keep records regardless of age\), got "7y"\n$/,
      ],
      [
        ['--egress-allow', '10.0.0.0/8', '--egress-allow', '10.0.0.0/40'],
        {},
        /^nimbus: --egress-allow "10\.0\.0\.0\/40" is not a CIDR: .*such as --egress-allow 10\.1\.0\.0\/16\n$/,
      ],
      [
        ['--log-level', 'loud'],
        {},
        /^nimbus: --log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"\n$/,
      ],
      [
        ['--invoker-id', 'a b'],
        {},
        /^nimbus: --invoker-id must be 1-64 letters, digits, _ or -, such as node-1, got "a b"\n$/,
      ],
      [
        [],
        { NIMBUS_ACTIVATION_RETENTION: 'soon' },
        /^nimbus: --activation-retention must be an age .*, got "soon" \(from NIMBUS_ACTIVATION_RETENTION\)\n$/,
      ],
      [
        [],
        { NIMBUS_EGRESS_ALLOW: '10.0.0.0/8,nope' },
        /^nimbus: --egress-allow "nope" is not a CIDR: .* \(from NIMBUS_EGRESS_ALLOW\)\n$/,
      ],
    ];
    for (const [args, env, message] of shared) {
      const [onServe, onInvoker] = await Promise.all([
        cli(['serve', '--port', '0', ...data, ...args], env),
        cli(['invoker', ...data, ...args], env),
      ]);
      assert.equal(onServe.code, 2, `serve ${args.join(' ')}: ${onServe.stderr}`);
      assert.match(onServe.stderr, message);
      assert.deepEqual(onInvoker, onServe, `invoker ${args.join(' ')} answers as serve does`);
    }
    const own: [string[], RegExp][] = [
      [['serve', '--port', '0x50'], /^nimbus: --port must be 0-65535, got "0x50"\n$/],
      [
        ['serve', '--port', '0', '--functions-port', '70000'],
        /^nimbus: --functions-port must be 0-65535, got "70000"\n$/,
      ],
      [['invoker', '--slots', '0'], /^nimbus: --slots must be a whole number ≥ 1, got "0"\n$/],
      [
        ['serve', '--port', '0', '--api-key', 'sesame-short'],
        /^nimbus: --api-key must be at least 16 characters \(it had 12\): a long random key/,
      ],
    ];
    for (const [args, message] of own) {
      const r = await cli([...args, ...data]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /sesame/, 'the API key is not repeated');
    }
  });
});
