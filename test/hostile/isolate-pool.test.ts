// Hostile isolate functions on a real platform: one that aborts V8 (and so its
// pool process) while another isolate function has calls in flight, and ones
// that flood memory V8's heap limit does not count (WebAssembly memories,
// resizable and shared buffers). The others' calls succeed, the culprit gets a
// 502 that says what happened without the pool's stderr, memory floods end
// memory_exhausted with the pool's RSS bounded, and everything serves again.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';

const STEADY = `export async function handler(event) { await new Promise((r) => setTimeout(r, event.ms)); return { tag: event.tag }; }`;
const CRASHER = `
  export function handler(event) {
    if (event.how === 'array') new Array(2 ** 30).fill(0);
    if (event.how === 'split') 'x'.repeat(2 ** 28).split('');
    return 'fine';
  }`;
// A module that defines (and exports as "m") a memory of \`pages\` 64 KiB pages: no JavaScript call makes it.
const WASM_MODULE = `
  const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
  const moduleWith = (pages) => {
    const memory = [0x01, 0x00, ...leb(pages)];
    return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x05, memory.length, ...memory, 0x07, 0x05, 0x01, 0x01, 0x6d, 0x02, 0x00]);
  };`;
const FLOODS = `${WASM_MODULE}
  export async function handler(event) {
    const keep = [];
    switch (event.how) {
      case 'memories': for (let i = 0; i < 3; i++) { const m = new WebAssembly.Memory({ initial: 16384 }); new Uint8Array(m.buffer).fill(1); keep.push(m); } break;
      case 'grow': { const m = new WebAssembly.Memory({ initial: 1 }); for (let i = 0; i < 200; i++) { m.grow(256); new Uint8Array(m.buffer).fill(1); } break; }
      case 'module': keep.push(new WebAssembly.Instance(new WebAssembly.Module(moduleWith(16384)))); break;
      case 'module-grow': { const { instance } = await WebAssembly.instantiate(moduleWith(1)); const m = instance.exports.m; for (let i = 0; i < 200; i++) { m.grow(256); new Uint8Array(m.buffer).fill(1); } break; }
      case 'buffers': for (let i = 0; i < 48; i++) keep.push(new Uint8Array(64 * 1024 * 1024).fill(1)); break;
      case 'shared': for (let i = 0; i < 48; i++) keep.push(new Uint8Array(new SharedArrayBuffer(64 * 1024 * 1024)).fill(1)); break;
      case 'resizable': for (let i = 0; i < 6; i++) { const b = new ArrayBuffer(0, { maxByteLength: 2 ** 30 }); b.resize(2 ** 29); new Uint8Array(b).fill(1); keep.push(b); } break;
      case 'growable': for (let i = 0; i < 6; i++) { const b = new SharedArrayBuffer(0, { maxByteLength: 2 ** 30 }); b.grow(2 ** 29); new Uint8Array(b).fill(1); keep.push(b); } break;
      case 'per-call': {
        // Neither has a maximum, so each reserves all of memoryMb: it fits only once the last one is collected.
        const m = event.i % 2 ? new WebAssembly.Memory({ initial: 1600 }) : (await WebAssembly.instantiate(moduleWith(1600))).instance.exports.m;
        new Uint8Array(m.buffer).fill(3);
        return 'fresh ' + m.buffer.byteLength;
      }
      default: { const { instance } = await WebAssembly.instantiate(moduleWith(16)); new Uint8Array(instance.exports.m.buffer).fill(7); return 'small ok ' + instance.exports.m.buffer.byteLength; }
    }
    return 'allocated ' + keep.length;
  }`;

/** What a caller must never see: V8's fatal report, the pool's stack or its GC trace. */
const STDERR = /FATAL|v8::|Native stack|Last few GCs|<---|node::|Mark-Compact|Scavenge|\bat \/|pool\.cjs/i;

/** Host pids of isolate pool processes started by this test process. */
async function poolPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes('/nimbus/pool.cjs') || cmd.startsWith('bwrap') || cmd.includes('/bwrap')) continue;
    for (let pid = Number(entry), hops = 0; pid > 1 && hops < 10; hops++) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (pid === process.pid) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

/** Samples the largest RSS (MB) of this test's pools while `work` runs. */
async function peakPoolRss<T>(work: Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peakMb = 0;
  let done = false;
  const sampling = (async () => {
    while (!done) {
      for (const pid of await poolPids()) {
        const kb = Number(
          /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1] ?? 0,
        );
        peakMb = Math.max(peakMb, kb / 1024);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  try {
    return { result: await work, peakMb };
  } finally {
    done = true;
    await sampling;
  }
}

let tp: TestPlatform;
before(async () => {
  tp = await startTestPlatform();
  for (const [name, code, memoryMb] of [
    ['steady', STEADY, 128],
    ['crasher', CRASHER, 128],
    ['floods', FLOODS, 128],
  ] as const) {
    const r = await tp.deploy(name, code, { engine: 'isolate', memoryMb, timeoutMs: 60_000 });
    assert.ok(r.status === 201 || r.status === 200, r.text);
  }
});
after(async () => {
  await tp?.close();
});

describe('hostile isolate functions: one function cannot take down the others', () => {
  for (const how of ['array', 'split'] as const) {
    it(`an abort of V8 (${how === 'array' ? 'new Array(2**30).fill(0)' : "'x'.repeat(2**28).split('')"}) fails only the culprit's call, without the pool's stderr`, async () => {
      const inFlight = Array.from({ length: 5 }, (_, i) => tp.invoke('steady', { ms: 1500, tag: i }));
      await new Promise((r) => setTimeout(r, 300));
      const crashed = await tp.invoke('crasher', { how });
      assert.equal(crashed.status, 502, crashed.text);
      assert.ok(['function_crashed', 'memory_exhausted'].includes(crashed.json.error.code), crashed.text);
      assert.doesNotMatch(crashed.text, STDERR, "the pool's stderr reached the caller");
      if (crashed.json.error.code === 'function_crashed')
        assert.match(
          crashed.json.error.message,
          /isolate pool for this function crashed \(signal SIG[A-Z]+ \/ exit \d+\); it is being restarted/,
        );
      const steady = await Promise.all(inFlight);
      for (const [i, r] of steady.entries()) {
        assert.equal(r.status, 200, `in-flight call ${i} of another function failed: ${r.text}`);
        assert.deepEqual(r.json, { tag: i });
      }
      const again = await tp.invoke('crasher', {});
      assert.equal(again.status, 200, `the crashed function does not serve again: ${again.text}`);
      assert.equal(again.json, 'fine');
    });
  }
});

describe('hostile isolate functions: every kind of memory counts against memoryMb', () => {
  it('gives back the memory of collected WebAssembly memories: 100 MB made and dropped on every call keeps working under memoryMb 128', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await tp.invoke('floods', { how: 'per-call', i });
      assert.equal(r.status, 200, `call ${i}: ${r.text}`);
      assert.equal(r.json, `fresh ${1600 * 65536}`);
    }
  });

  const cases = ['memories', 'grow', 'module', 'module-grow', 'buffers', 'shared', 'resizable', 'growable'] as const;
  for (const how of cases) {
    it(`ends a ${how} flood under memoryMb 128 with memory_exhausted and the pool's RSS bounded`, async () => {
      const { result: r, peakMb } = await peakPoolRss(tp.invoke('floods', { how }));
      assert.equal(r.status, 502, r.text);
      assert.equal(r.json.error.code, 'memory_exhausted', r.text);
      assert.doesNotMatch(r.text, STDERR);
      assert.ok(peakMb < 128 * 2 + 150, `the pools' RSS reached ${Math.round(peakMb)} MB`);
      const fine = await tp.invoke('floods', {});
      assert.equal(fine.status, 200, fine.text);
      assert.equal(fine.json, `small ok ${16 * 65536}`);
    });
  }
});
