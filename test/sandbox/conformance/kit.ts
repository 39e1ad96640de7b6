// What conformance cases use to drive one sandbox driver: specs with test
// defaults, calls with fresh activation ids, outcome checks that print the
// whole outcome when they fail, and disposal of whatever a case leaves behind.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { InvokeInput } from '../../../src/guest/protocol.ts';
import type { InvokeOutcome, Sandbox, SandboxDriver, SandboxSpec } from '../../../src/sandbox/driver.ts';
import type { BundledFunction } from '../../helpers/functions.ts';

export const DEFAULT_SPEC = { memoryMb: 160, cpus: 1, resultLimitBytes: 1024 * 1024, logLimitBytes: 64 * 1024 };

export class SandboxKit {
  private readonly live = new Set<Sandbox>();

  constructor(
    private readonly driver: SandboxDriver,
    private readonly ms: (base: number) => number,
  ) {}

  spec(fn: BundledFunction, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
    const id = `conf-${randomUUID().slice(0, 8)}`;
    return {
      id,
      functionName: `conformance-${id}`,
      functionVersion: 1,
      artifactPath: fn.path,
      artifactSha256: fn.sha256,
      env: {},
      network: false,
      ...DEFAULT_SPEC,
      ...overrides,
    };
  }

  /** Creates a sandbox that the suite disposes after the current case. */
  async create(fn: BundledFunction, overrides: Partial<SandboxSpec> = {}): Promise<Sandbox> {
    const sandbox = await this.driver.create(this.spec(fn, overrides));
    this.live.add(sandbox);
    return sandbox;
  }

  /** One call with a fresh activation id; the default timeout is generous, scaled by slowness. */
  invoke(sandbox: Sandbox, input: InvokeInput, timeoutMs = this.ms(10_000)): Promise<InvokeOutcome> {
    return sandbox.invoke({ activationId: randomUUID(), input, timeoutMs });
  }

  /** Disposes every sandbox still alive; a failing dispose fails the case. */
  async disposeAll(): Promise<void> {
    const live = [...this.live];
    this.live.clear();
    await Promise.all(live.map((s) => s.dispose()));
  }
}

export function event(value: unknown): InvokeInput {
  return { kind: 'event', event: value };
}

export function httpRequest(method: string, url: string, headers: Record<string, string>, body = ''): InvokeInput {
  return { kind: 'http', request: { method, url, headers, bodyBase64: Buffer.from(body).toString('base64') } };
}

function show(outcome: InvokeOutcome): string {
  return JSON.stringify(outcome).slice(0, 2000);
}

/** The value a successful call returned. */
export function valueOf(outcome: InvokeOutcome): unknown {
  assert.ok(outcome.ok && outcome.output?.kind === 'value', `expected a value, got ${show(outcome)}`);
  return outcome.output.value;
}

/** The HTTP response a successful call returned, body decoded as UTF-8. */
export function responseOf(outcome: InvokeOutcome): { status: number; headers: Record<string, string>; body: string } {
  assert.ok(outcome.ok && outcome.output?.kind === 'http', `expected an HTTP response, got ${show(outcome)}`);
  const { status, headers, bodyBase64 } = outcome.output.response;
  return { status, headers, body: Buffer.from(bodyBase64, 'base64').toString('utf8') };
}

/** The error of a failed call, which must carry `code`. */
export function errorOf(outcome: InvokeOutcome, code: string): NonNullable<InvokeOutcome['error']> {
  assert.ok(!outcome.ok && outcome.error, `expected error ${code}, got ${show(outcome)}`);
  assert.equal(outcome.error.code, code, `expected error ${code}, got ${show(outcome)}`);
  return outcome.error;
}
