// Function programming: deploy (JSON source or an archive), read and delete.
// A deploy builds and validates everything first and then stores the artifact,
// the version and the function pointer in one transaction: all or nothing.
import { createHash } from 'node:crypto';
import type { NimbusConfig } from '../config/options.ts';
import type { DeployedVersion, FunctionConfig, FunctionRecord, Store, VersionRecord } from '../storage/store.ts';
import { NimbusError } from '../shared/errors.ts';
import { archiveKind } from './build/archive.ts';
import { Builder } from './build/builder.ts';
import { bundleArchive, checkExports, type Bundle } from './build/bundle.ts';
import { DeployConfig, DeployJson, compileConfig, parseOrThrow } from './build/function-spec.ts';
import { inNamespace, splitQualified } from '../tenancy/names.ts';
import { bareName, checkQualifiedName } from '../tenancy/scope.ts';
import type { QuotaGate } from '../tenancy/quotas.ts';
import { resolveQualified, type Target, type TargetPick } from './targets.ts';
import { requireSecrets } from '../tenancy/secrets.ts';
import { deleteFunctionState } from '../state/kv-store.ts';
import { SequenceSpec } from '../compose/sequence-spec.ts';

/** What a dry-run deploy answers: what the deploy would do, having built and checked everything and stored nothing. */
export interface DeployPlan {
  dryRun: true;
  name: string;
  sha256: string;
  config: FunctionConfig;
  change: 'create' | 'update' | 'unchanged';
}

export interface FunctionEvents {
  /** A function was deleted or got a new version: drop what is cached for it. */
  changed(name: string): Promise<void>;
  /** Before a delete: refuse it (409 naming what uses the function) or, with force, remove those users. */
  beforeDelete?(name: string, force: boolean): Promise<void>;
  /** Before a deploy is stored: refuse a config whose steps or destinations name what does not exist (compose/). */
  checkDeploy?(name: string, config: FunctionConfig): Promise<void>;
}

export class FunctionsService {
  /** Builds run in sandboxed workers, never in this process (see build/builder.ts). */
  private readonly builder: Builder;

  constructor(
    private readonly store: Store,
    private readonly config: NimbusConfig,
    private readonly events: FunctionEvents,
    /** The namespaces' quotas on deploys (maxFunctions, maxMemoryMb). */
    private readonly quotas?: QuotaGate,
  ) {
    this.builder = new Builder({
      timeoutMs: config.buildTimeoutMs,
      memoryMb: config.buildMemoryMb,
      maxOutputBytes: config.unpackedLimitBytes + 64 * 1024 * 1024,
    });
  }

  /** Stops the build workers. */
  close(): Promise<void> {
    return this.builder.close();
  }

  /** Deploys from a JSON body {code, runtime, ...config}; with dryRun, only says what the deploy would do. */
  async deployJson(name: string, body: unknown, dryRun = false): Promise<DeployedVersion | DeployPlan> {
    checkQualifiedName(name);
    if (isSequenceBody(body)) return this.deploySequence(name, body, dryRun);
    const { code, ...rest } = parseOrThrow(DeployJson, body, 'deploy request');
    const bundle = await this.builder.source(code, rest.language);
    return this.store_(name, rest, bundle, dryRun);
  }

  /** Deploys from a zip or tar(.gz) of a directory; config comes separately. */
  async deployArchive(
    name: string,
    archive: Buffer,
    rawConfig: unknown,
    dryRun = false,
  ): Promise<DeployedVersion | DeployPlan> {
    checkQualifiedName(name);
    const cfg = parseOrThrow(DeployConfig, rawConfig, 'deploy config');
    const kind = archiveKind(archive);
    if (!kind)
      throw new NimbusError(
        'bad_archive',
        'the body is not a zip, tar or tar.gz archive; send JSON {code, runtime} or an archive',
      );
    const limits = { unpackedBytes: this.config.unpackedLimitBytes, files: this.config.archiveFileLimit };
    const bundle = await bundleArchive(this.builder, archive, kind, limits, cfg.handler);
    return this.store_(name, cfg, bundle, dryRun);
  }

  /** `created` is decided by the store in the deploy's transaction, so that of racing first deploys exactly one made the function. */
  private async store_(
    name: string,
    cfg: DeployConfig,
    bundle: Bundle,
    dryRun: boolean,
  ): Promise<DeployedVersion | DeployPlan> {
    checkExports(bundle, cfg.handler);
    const fnConfig = compileConfig(cfg, cfg.language ?? bundle.language, this.config);
    await requireSecrets(this.store.sql, name, fnConfig.secrets);
    return this.save(name, fnConfig, bundle.sha256, bundle.code, dryRun);
  }

  /** A sequence: its steps are its code (stored as the artifact), checked like any deploy's references. */
  private async deploySequence(name: string, body: unknown, dryRun: boolean): Promise<DeployedVersion | DeployPlan> {
    const spec = parseOrThrow(SequenceSpec, body, 'sequence');
    const d = this.config.defaults;
    const fnConfig: FunctionConfig = {
      runtime: 'nodejs',
      language: 'javascript',
      engine: d.engine,
      memoryMb: d.memoryMb,
      timeoutMs: spec.timeoutMs ?? d.timeoutMs,
      concurrency: d.concurrency,
      minSandboxes: 0,
      maxSandboxes: 1,
      network: false,
      env: {},
      kind: 'sequence',
      steps: spec.steps,
    };
    const code = Buffer.from(JSON.stringify({ kind: 'sequence', steps: spec.steps }));
    return this.save(name, fnConfig, createHash('sha256').update(code).digest('hex'), code, dryRun);
  }

  private async save(
    name: string,
    fnConfig: FunctionConfig,
    sha256: string,
    code: Buffer,
    dryRun: boolean,
  ): Promise<DeployedVersion | DeployPlan> {
    await this.events.checkDeploy?.(name, fnConfig);
    const bundle = { sha256, code };
    const current = await this.store.getFunction(name);
    const unchanged =
      current !== undefined &&
      current.artifactSha256 === bundle.sha256 &&
      JSON.stringify(current.config) === JSON.stringify(fnConfig);
    // A sequence runs no code of its own: its memoryMb is a default, not an ask.
    const memoryMb = fnConfig.kind === 'sequence' ? 0 : fnConfig.memoryMb;
    if (!unchanged) await this.quotas?.checkDeploy(name, memoryMb, current === undefined);
    // A dry run stops here, after every check a deploy makes and before its first write.
    if (dryRun) {
      const change = unchanged ? 'unchanged' : current ? 'update' : 'create';
      return { dryRun: true, name, sha256: bundle.sha256, config: fnConfig, change };
    }
    if (unchanged) return { ...current, created: false };
    // A new function starts with empty state, even where a call of a deleted one of this
    // name (or of a deleted namespace's) was still running and stored keys after the delete.
    if (current === undefined) await deleteFunctionState(this.store.sql, name);
    const deploy = () => this.store.deployVersion(name, fnConfig, bundle.sha256, bundle.code);
    // maxFunctions holds under racing deploys: new functions of a namespace with that quota are stored one at a time.
    const version = await (this.quotas ? this.quotas.deploying(name, current === undefined, deploy) : deploy());
    await this.events.changed(name);
    return version;
  }

  /** The version a call to a qualified reference (`name`, `name:3`, `name:prod`) runs now (targets.ts). */
  resolve(ref: string, pick?: TargetPick): Promise<Target> {
    return resolveQualified(this.store, ref, pick);
  }

  /** Memory asked for a sandbox of the namespace (a resize) within its maxMemoryMb quota: 400 otherwise. */
  async checkMemoryQuota(namespace: string, memoryMb: number, what: string): Promise<void> {
    await this.quotas?.checkMemory(namespace, memoryMb, what);
  }

  async get(name: string): Promise<FunctionRecord> {
    checkQualifiedName(name);
    const fn = await this.store.getFunction(name);
    if (!fn) {
      const bare = bareName(name);
      throw new NimbusError('not_found', `function "${bare}" does not exist; deploy it with PUT /v1/functions/${bare}`);
    }
    return fn;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.store.getFunction(name)) !== undefined;
  }

  /** The functions of one namespace. */
  async list(namespace: string): Promise<FunctionRecord[]> {
    return (await this.store.listFunctions()).filter((f) => inNamespace(f.name, namespace));
  }

  async delete(name: string, force = false): Promise<void> {
    checkQualifiedName(name);
    if (this.events.beforeDelete && (await this.store.getFunction(name))) await this.events.beforeDelete(name, force);
    if (!(await this.store.deleteFunction(name)))
      throw new NimbusError('not_found', `function "${bareName(name)}" does not exist`);
    await deleteFunctionState(this.store.sql, name);
    await this.events.changed(name);
  }
}

/** A function version as the API shows it: its bare name and namespace, never the qualified key. */
export function describeVersion(v: VersionRecord): Record<string, unknown> {
  const { namespace, name } = splitQualified(v.name);
  return {
    name,
    namespace,
    version: v.version,
    config: v.config,
    artifact: { sha256: v.artifactSha256, bytes: v.artifactBytes },
    createdAt: v.createdAt,
    ...('firstDeployedAt' in v ? { firstDeployedAt: (v as FunctionRecord).firstDeployedAt } : {}),
  };
}

/** A deploy body that asks for a sequence ({kind: "sequence", steps}). */
function isSequenceBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'sequence';
}
