// Hostile functions and what each engine must do with them. Where an engine
// cannot contain a case, the case says so (refuseOn) and the suite asserts
// exactly that documented behaviour; today every engine contains them all.
import { readdirSync } from 'node:fs';
import type { EngineKind } from '../../src/sandbox/driver.ts';
import { STRAY_SLEEP } from './leaks.ts';

const hostHasRootWrite = () => readdirSync('/').some((f) => f.startsWith('nimbus-hostile-write-'));

export interface HostileOutcome {
  status: number;
  body: any;
  record: any;
}

export interface HostileCase {
  name: string;
  code: string;
  config?: Record<string, unknown>;
  /** Engines that must not run the case at all (it would harm the host), with why. */
  refuseOn?: Partial<Record<EngineKind, string>>;
  check(engine: EngineKind, o: HostileOutcome): void;
}

const fail = (msg: string): never => {
  throw new Error(msg);
};
const expectCode = (o: HostileOutcome, ...codes: string[]) => {
  if (!codes.includes(o.record?.error?.code))
    fail(
      `expected error ${codes.join(' or ')}, got ${o.status} ${JSON.stringify(o.record?.error ?? o.body).slice(0, 300)}`,
    );
};
const expectFailed = (o: HostileOutcome) => {
  if (o.record?.status === 'success')
    fail(`expected the attempt to fail, but it succeeded: ${JSON.stringify(o.body).slice(0, 200)}`);
};
const NODE_ONLY = 'uses Node APIs';
const nodeEngine = (e: EngineKind) => e !== 'isolate';

export const HOSTILE_CASES: HostileCase[] = [
  {
    name: 'infinite loop',
    code: 'exports.handler = async () => { for (;;) {} }',
    config: { timeoutMs: 1500 },
    check: (_e, o) => expectCode(o, 'timeout'),
  },
  {
    name: 'a timer that keeps running after the handler returned',
    code: 'let n = 0; exports.handler = async () => { setInterval(() => { n++; }, 5); return "returned"; }',
    check: (_e, o) => {
      if (o.body !== 'returned') fail(`expected the handler's result, got ${JSON.stringify(o.body)}`);
    },
  },
  {
    name: 'a child process that outlives the handler',
    code: `exports.handler = async () => { const cp = require('child_process'); const c = cp.spawn('sleep', ['${STRAY_SLEEP}'], { stdio: 'ignore' }); c.unref(); return { pid: c.pid }; }`,
    check: (e, o) => {
      if (e === 'isolate') expectFailed(o); // no child_process in an isolate
    },
  },
  {
    name: 'fork bomb',
    // A failed fork shows as a child without a pid (its error event comes later).
    code: `exports.handler = async () => { const cp = require('child_process'); for (let i = 0; i < 100000; i++) { try { const c = cp.spawn('sleep', ['${STRAY_SLEEP}'], { stdio: 'ignore' }); c.on('error', () => {}); c.unref(); if (c.pid === undefined) return { stopped: 'fork failed', after: i }; } catch (e) { return { stopped: String(e.code || e.message), after: i }; } } return { stopped: 'never' }; }`,
    config: { timeoutMs: 8000 },
    check: (e, o) => {
      if (e === 'isolate') return expectFailed(o);
      if (o.record?.status === 'success' && o.body?.stopped === 'never')
        fail('the fork bomb was never stopped by a pids limit');
    },
  },
  {
    name: 'allocate 10 GB',
    code: 'exports.handler = async () => { const keep = []; for (let i = 0; i < 10 * 1024; i++) keep.push(new Uint8Array(1024 * 1024).fill(1)); return keep.length; }',
    config: { memoryMb: 160 },
    check: (_e, o) => expectCode(o, 'memory_exhausted'),
  },
  {
    name: 'write until the disk is full',
    code: `exports.handler = async () => { const fs = require('fs'); const chunk = Buffer.alloc(1024 * 1024, 1); let mb = 0; try { for (;;) { fs.appendFileSync('/tmp/fill', chunk); if (++mb > 4096) return { mb, stopped: 'never' }; } } catch (e) { fs.rmSync('/tmp/fill', { force: true }); return { mb, stopped: e.code }; } }`,
    config: { timeoutMs: 60000 },
    check: (e, o) => {
      if (e === 'isolate') return expectFailed(o);
      if (o.record?.status === 'success' && o.body?.stopped === 'never')
        fail('the disk never filled up: no size limit on /tmp');
    },
  },
  {
    name: '50 MB of logs',
    code: 'exports.handler = async () => { const line = "z".repeat(1023); for (let i = 0; i < 50 * 1024; i++) console.log(line); return "logged"; }',
    config: { timeoutMs: 60000 },
    check: (_e, o) => {
      if (o.record?.logsTruncated !== true) fail('logs were not marked truncated');
      if (String(o.record?.logs).length > 1.2 * 1024 * 1024) fail('logs were not capped at about 1 MB');
    },
  },
  {
    name: 'read /etc/shadow',
    code: `exports.handler = async () => require('fs').readFileSync('/etc/shadow', 'utf8').slice(0, 5)`,
    check: (_e, o) => expectFailed(o),
  },
  {
    name: 'write outside /tmp',
    code: `exports.handler = async () => { require('fs').writeFileSync('/nimbus-hostile-write-' + Date.now(), 'x'); return 'wrote'; }`,
    check: (e, o) => {
      if (hostHasRootWrite()) fail("the write reached the host's root directory");
      // A microVM's root is the guest's own in-memory filesystem, discarded with the VM.
      if (e !== 'microvm') expectFailed(o);
    },
  },
  {
    name: 'connect to 127.0.0.1:5432 with network off',
    code: `exports.handler = async () => new Promise((resolve, reject) => { const s = require('net').connect(5432, '127.0.0.1'); s.on('connect', () => { s.destroy(); resolve('connected'); }); s.on('error', (e) => reject(e)); setTimeout(() => reject(new Error('no answer')), 3000); })`,
    check: (_e, o) => expectFailed(o),
  },
  {
    name: 'isolate escape through constructors',
    code: `exports.handler = async () => { const p = this.constructor.constructor("return process")(); return { escaped: typeof p?.binding === 'function' && typeof p?.pid === 'number', pid: p?.pid ?? null }; }`,
    check: (e, o) => {
      if (e === 'isolate' && o.body?.escaped) fail('reached the Node process object from an isolate');
    },
  },
  {
    name: 'close the control channel',
    code: `exports.handler = async () => { const fs = require('fs'); for (let fd = 0; fd < 64; fd++) { try { fs.closeSync(fd); } catch {} } await new Promise(r => setTimeout(r, 2000)); return 'still here'; }`,
    config: { timeoutMs: 10000 },
    check: (e, o) => {
      if (e === 'isolate') return expectFailed(o);
      expectCode(o, 'function_crashed', 'timeout');
    },
  },
  {
    name: 'return a 100 MB result',
    code: `exports.handler = async () => 'r'.repeat(100 * 1024 * 1024)`,
    config: { memoryMb: 1024, timeoutMs: 60000 },
    check: (_e, o) => expectCode(o, 'result_too_large', 'memory_exhausted'),
  },
];

export { NODE_ONLY, nodeEngine };
