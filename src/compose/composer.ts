// Functions built from functions: sequences and destinations, wired to the
// rest of the platform. The front end asks it to check a deploy (every step
// and destination function exists, no sequence cycle, a webhook's secret
// exists) and whether a delete would break a sequence; the sync path and the
// async scheduler ask it to run a version (a sequence runs its steps here, a
// plain function goes to the dispatcher) and, when an async run ends, to
// deliver the record to its destination.
import type { RunReply, RunRequest } from '../engine/messages.ts';
import type { ActivationRecord, FunctionConfig, Store, VersionRecord } from '../storage/store.ts';
import { NimbusError, isNimbusError } from '../shared/errors.ts';
import { EgressRules } from '../sandbox/network/policy.ts';
import { egressAgent } from '../sandbox/network/egress-agent.ts';
import { deliver, destinationFor, type DestinationDeps } from './destinations.ts';
import { SequenceRunner, isSequence, type RunOne } from './sequence-runner.ts';
import { checkNoCycle, stepFunction } from './sequence-spec.ts';
import { qualify, splitQualified } from '../tenancy/names.ts';

export interface ComposerOptions {
  store: Store;
  runOne: RunOne;
  /** The version a reference names in a namespace (frontend/targets.ts); throws not_found. */
  resolve: (namespace: string, ref: string) => Promise<VersionRecord>;
  invoke: DestinationDeps['invoke'];
  publish: DestinationDeps['publish'];
  secret: DestinationDeps['secret'];
  /** The operator's --egress-allow: webhooks go where a function's fetch may. */
  egressAllow: string[];
  /** Webhook retry timing. */
  webhook?: { attempts?: number; backoffMs?: number; timeoutMs?: number };
  /** Counts a sequence step as an invocation of its namespace (429 past invocationsPerMinute). */
  admitStep?: (functionName: string) => Promise<void>;
}

export class Composer {
  readonly sequences: SequenceRunner;
  private readonly deps: DestinationDeps;

  constructor(private readonly o: ComposerOptions) {
    // Each step is an invocation of its own: without counting it, one admitted call of a
    // sequence of 50 steps (nested 8 deep) would run far past the namespace's invocationsPerMinute.
    const runStep: RunOne = async (req, timeoutMs) => {
      await o.admitStep?.(req.functionName);
      return o.runOne(req, timeoutMs);
    };
    this.sequences = new SequenceRunner(o.store, runStep, async (ns, ref) =>
      o.resolve(ns, ref).catch((e: unknown) => {
        if (isNimbusError(e) && e.code === 'not_found') return undefined;
        throw e;
      }),
    );
    const agent = egressAgent(new EgressRules({ allow: o.egressAllow }));
    this.deps = { invoke: o.invoke, publish: o.publish, secret: o.secret, webhook: { ...o.webhook, agent } };
  }

  /** Runs a version: a sequence's steps here, anything else on an invoker. */
  run(fn: VersionRecord, req: RunRequest, timeoutMs: number): Promise<RunReply> {
    return isSequence(fn) ? this.sequences.run(fn, req) : this.o.runOne(req, timeoutMs);
  }

  /** Delivers an ended async record to its function's destination; the record with the outcome, or as it was. */
  async afterAsync(config: FunctionConfig, record: ActivationRecord): Promise<ActivationRecord> {
    const to = destinationFor(record, config.destinations);
    if (!to || record.destination) return record;
    const outcome = await deliver(record, to, this.deps);
    const updated = { ...record, destination: outcome };
    await this.o.store.putActivation(updated);
    return updated;
  }

  /** Refuses a config whose steps or destinations name what does not exist, or a sequence that reaches itself. */
  async checkDeploy(qualifiedName: string, config: FunctionConfig): Promise<void> {
    const { namespace, name } = splitQualified(qualifiedName);
    const must = async (ref: string, what: string) => {
      if (stepFunction(ref) === name && !config.steps) return; // a function may name itself (a chain stops at 8 hops)
      try {
        await this.o.resolve(namespace, ref);
      } catch (e) {
        if (!isNimbusError(e) || e.code !== 'not_found') throw e;
        throw new NimbusError('bad_request', `${what} names function "${ref}", which does not exist: ${e.message}`);
      }
    };
    for (const ref of config.steps ?? []) await must(ref, `a step of sequence "${name}"`);
    if (config.steps) {
      await checkNoCycle(name, config.steps, async (fn) => {
        const v = await this.o.store.getFunction(qualify(namespace, fn));
        return v && isSequence(v) ? v.config.steps : undefined;
      });
    }
    for (const on of ['onSuccess', 'onFailure'] as const) {
      const target = config.destinations?.[on];
      if (target && 'function' in target) await must(target.function, `destinations.${on}`);
      if (
        target &&
        'url' in target &&
        target.secret !== undefined &&
        (await this.o.secret(namespace, target.secret)) === undefined
      )
        throw new NimbusError(
          'bad_request',
          `destinations.${on}.secret names secret "${target.secret}", which does not exist; create it with PUT /v1/secrets/${target.secret}`,
        );
    }
  }

  /** 409 naming the sequences of the namespace that use the function, unless forced. */
  async beforeDelete(qualifiedName: string, force: boolean): Promise<void> {
    if (force) return;
    const { namespace, name } = splitQualified(qualifiedName);
    const users: string[] = [];
    for (const fn of await this.o.store.listFunctions()) {
      const other = splitQualified(fn.name);
      if (other.namespace !== namespace || other.name === name || !isSequence(fn)) continue;
      if ((fn.config.steps ?? []).some((s) => stepFunction(s) === name)) users.push(other.name);
    }
    if (users.length)
      throw new NimbusError(
        'conflict',
        `function "${name}" is a step of sequence${users.length > 1 ? 's' : ''} ${users.map((u) => `"${u}"`).join(', ')}; change or delete them first, or delete with ?force=1 (they will then fail at that step)`,
      );
  }
}
