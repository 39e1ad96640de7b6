// Puts the components together. Embedded mode: SQLite store, in-memory bus,
// one local invoker, the async scheduler and the front end in one process.
// Store and bus are opened from the config through their registries, so
// cluster mode reuses the same composition: a front end (no invoker, no queue
// consumer, the sharding balancer) or an invoker node (invoker, heartbeats,
// queue consumer, no HTTP).
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { SingleInvokerBalancer, type Balancer } from './balancer/balancer.ts';
import { LocalFirstBalancer } from './balancer/local-first.ts';
import type { Bus } from './bus/bus.ts';
import { openBus } from './bus/registry.ts';
import { isLoopback, resolveConfig, type NimbusConfig, type NimbusOptions } from './config/options.ts';
import { Invoker } from './engine/invoker.ts';
import { loadOrCreateApiKey } from './frontend/auth.ts';
import { FunctionsService } from './frontend/functions-service.ts';
import { InvocationsService } from './frontend/invocations-service.ts';
import { listenOrExplain } from './frontend/app.ts';
import { buildFunctionsServer } from './frontend/functions-server.ts';
import { buildServer } from './frontend/server.ts';
import { bundleGuest } from './sandbox/agent-bundle.ts';
import { AsyncScheduler } from './scheduler/async-scheduler.ts';
import { Dispatcher } from './scheduler/dispatcher.ts';
import { announceChange, onFunctionChanged } from './scheduler/function-events.ts';
import { cacheFunctionRecords, dropEverywhere } from './frontend/function-cache.ts';
import { shareKeyCache } from './frontend/key-cache.ts';
import { createMetrics, type Metrics } from './shared/metrics.ts';
import { securePlatformState } from './shared/private-state.ts';
import { openStore } from './storage/registry.ts';
import { startSweeper } from './storage/retention-sweeper.ts';
import { QuotaGate } from './tenancy/quotas.ts';
import { EventsService } from './events/events-service.ts';
import { resolveTarget } from './frontend/targets.ts';
import { Secrets } from './tenancy/secrets.ts';
import type { FunctionConfig, Store } from './storage/store.ts';
import { Composer } from './compose/composer.ts';
import { TopicPublisher } from './compose/topic-publisher.ts';

export interface PlatformOptions extends NimbusOptions {
  /** Run an invoker in this process (embedded: yes). */
  withInvoker?: boolean;
  /** Serve HTTP (a pure invoker node: no). */
  withFrontend?: boolean;
  logLevel?: string;
  /** Consume the async queue here (default: when running an invoker). */
  consumeQueue?: boolean;
  /** Runs this invoker takes before balancers overflow to others (cluster; default 4 per CPU). */
  slots?: number;
  /** A balancer for cluster mode; embedded uses its own invoker. */
  balancer?: (bus: Bus, config: NimbusConfig, logger: Logger) => Balancer | Promise<Balancer>;
  /** The master key for secrets as hex or base64 (default: NIMBUS_MASTER_KEY; embedded, else the data dir's master.key). */
  masterKey?: string;
}

/** How long a stopping invoker waits for its runs in flight, ms. */
const DRAIN_MS = 15_000;

export interface Platform {
  config: NimbusConfig;
  store: Store;
  bus: Bus;
  metrics: Metrics;
  invoker?: Invoker;
  server?: FastifyInstance;
  /** http://host:port once listening. */
  url?: string;
  /** The function origin (ANY /fn/:name/*), a second listener on functionsPort. */
  functionsServer?: FastifyInstance;
  functionsUrl?: string;
  /** Set when an API key is required; `created` when it was generated now. */
  apiKey?: { key: string; created: boolean };
  logger: Logger;
  close(): Promise<void>;
}

export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const {
    withInvoker = true,
    withFrontend = true,
    logLevel = process.env.NIMBUS_LOG_LEVEL ?? 'warn',
    balancer,
    consumeQueue = withInvoker,
    slots,
    masterKey,
    ...rest
  } = options;
  const config = resolveConfig(rest);
  const logger = pino({ level: logLevel, base: { invoker: config.invokerId } });
  const metrics = createMetrics();
  const tightened = await securePlatformState(config.dataDir);
  if (tightened.length)
    logger.warn(
      { changed: tightened.slice(0, 50), count: tightened.length },
      `made ${tightened.length} entries of the data directory private (they were readable or writable by other users)`,
    );
  const store = await openStore(config, (msg, extra) => logger.warn(extra ?? {}, msg));
  await store.migrate();
  const bus = await openBus(config, (msg, extra) => logger.info(extra ?? {}, msg));
  const cleanups: (() => Promise<void>)[] = [() => store.close(), () => bus.close()];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse())
      await c().catch((e: unknown) => logger.warn({ err: e }, 'close failed'));
  };
  try {
    const sweeper = startSweeper(store, config, (level, msg, extra) => logger[level](extra ?? {}, msg));
    cleanups.push(() => sweeper.stop());
    const secrets = await Secrets.open(store, {
      dataDir: config.dataDir,
      cluster: config.bus !== 'memory',
      masterKey,
      recycle: async (name) => {
        const current = await store.getFunction(name);
        if (current) await announceChange(bus, { name, version: current.version, recycle: true });
      },
      log: (level, msg) => logger[level](msg),
    });
    const quotas = QuotaGate.forStore(store.sql, (msg, extra) => logger.warn(extra ?? {}, msg));
    cleanups.push(() => quotas.close());
    let invoker: Invoker | undefined;
    if (withInvoker) {
      const agentPath = await bundleGuest(path.join(config.dataDir, 'build'));
      const driverContext = {
        dataDir: config.dataDir,
        agentPath,
        egress: { allow: config.egressAllow },
        microvmSnapshotCapMb: config.microvmSnapshotCapMb,
        microvmFunctionSnapshots: config.microvmFunctionSnapshots,
        log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) =>
          logger[level](extra ?? {}, msg),
      };
      invoker = await Invoker.create({
        config,
        store,
        bus,
        metrics,
        driverContext,
        secretEnv: (name, mapping) => secrets.envFor(name, mapping),
      });
      const inv = invoker;
      cleanups.push(() => inv.dispose());
      // A killed platform's sandboxes, cgroups and run dirs would stay until their engine is next used: sweep every engine now.
      const sweptAt = performance.now();
      const swept = await inv.drivers.sweepLeftovers();
      logger.debug({ swept, ms: Math.round(performance.now() - sweptAt) }, 'removed the leftovers of killed platforms');
      const warm = (name: string) =>
        inv
          .keepWarm(name)
          .catch((e: unknown) => logger.warn({ err: e, function: name }, 'could not pre-warm minSandboxes'));
      cleanups.push(
        await onFunctionChanged(bus, async (c) => {
          if (c.recycle) await inv.recycle(c.name);
          else await inv.forget(c.name, c.version ?? Infinity);
          void warm(c.name);
        }),
      );
      for (const fn of await store.listFunctions()) if (fn.config.minSandboxes > 0) void warm(fn.name);
    }
    let chosen: Balancer = balancer ? await balancer(bus, config, logger) : new SingleInvokerBalancer(config.invokerId);
    // An invoker node runs what it took from the queue itself when the function is warm here (local-first.ts).
    const local = invoker;
    if (local && balancer) chosen = new LocalFirstBalancer(config.invokerId, (name) => local.warm(name), chosen);
    cleanups.push(async () => chosen.close?.());
    const dispatcher = new Dispatcher(bus, chosen, quotas);
    const scheduler = new AsyncScheduler(store, bus, dispatcher, config, (msg, extra) => logger.info(extra ?? {}, msg));
    let events: EventsService | undefined;
    const resolve = (namespace: string, ref: string) => resolveTarget(store, namespace, ref);
    const topics = new TopicPublisher({ store, bus, scheduler, resolve });
    cleanups.push(() => topics.close());
    const composer = new Composer({
      store,
      runOne: (req, timeoutMs) => dispatcher.run(req, timeoutMs),
      resolve: async (namespace, ref) => (await resolve(namespace, ref)).version,
      invoke: async (namespace, ref, event, hop) => {
        const t = await resolve(namespace, ref);
        const input = { kind: 'event' as const, event };
        return (await scheduler.accept(t.version, input, hop.idempotencyKey, 'destination', t.alias, hop.chainDepth))
          .activationId;
      },
      publish: async (namespace, topic, event, hop) =>
        (events
          ? await events.publish(namespace, topic, event, hop.idempotencyKey, hop.chainDepth)
          : await topics.publish(namespace, topic, event, hop.idempotencyKey, hop.chainDepth)
        ).activationIds,
      secret: (namespace, name) => secrets.value(namespace, name),
      egressAllow: config.egressAllow,
      admitStep: (name) => quotas.admit(name),
    });
    scheduler.compose = composer;
    const cached = invoker;
    if (cached) scheduler.versions = (name, version) => cached.cachedVersion(name, version);
    if (consumeQueue) {
      await scheduler.start();
      cleanups.push(() => scheduler.stop());
    }
    if (invoker && bus.presence) {
      const inv = invoker;
      const load = { slots: slots ?? Math.max(2, os.cpus().length * 4) };
      const identity = {
        id: config.invokerId,
        host: os.hostname(),
        pid: process.pid,
        startedAt: new Date().toISOString(),
      };
      const goodbye = await bus.presence.announce(identity, () => ({ inflight: inv.inflight, slots: load.slots }));
      cleanups.push(async () => {
        await goodbye();
        const until = Date.now() + DRAIN_MS;
        while (inv.inflight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      });
    }
    const platform: Platform = { config, store, bus, metrics, invoker, logger, close };
    if (withFrontend) {
      const needsKey = !isLoopback(config.host) || config.apiKey !== undefined || config.requireKey;
      if (needsKey)
        platform.apiKey = config.apiKey
          ? { key: config.apiKey, created: false }
          : await loadOrCreateApiKey(config.dataDir);
      // Before any call reads a function or a key through the caches, they listen for drops.
      cleanups.push(await cacheFunctionRecords(store, bus));
      const keys = await shareKeyCache(store.sql, bus, (msg) => logger.warn(msg));
      cleanups.push(keys.stop);
      const changed = async (name: string) => {
        await dropEverywhere(bus, [name], (msg) => logger.warn(msg)).catch((e: unknown) =>
          logger.warn({ err: e }, 'could not tell front ends to drop a changed function'),
        );
        const current = await store.getFunction(name);
        await announceChange(bus, { name, version: current?.version ?? null }).catch((e: unknown) =>
          logger.warn({ err: e }, 'could not tell invokers that a function changed'),
        );
      };
      events = await EventsService.start({
        store,
        bus,
        scheduler,
        config,
        log: (level, msg, extra) => logger[level](extra ?? {}, msg),
        resolve: (namespace, ref) => resolveTarget(store, namespace, ref),
      });
      const ev = events;
      cleanups.push(() => ev.close());
      const beforeDelete = async (name: string, force: boolean) => {
        await composer.beforeDelete(name, force);
        await ev.beforeFunctionDelete(name, force);
      };
      const checkDeploy = (name: string, cfg: FunctionConfig) => composer.checkDeploy(name, cfg);
      const functions = new FunctionsService(store, config, { changed, beforeDelete, checkDeploy }, quotas);
      cleanups.push(() => functions.close());
      const invocations = new InvocationsService(functions, dispatcher, scheduler, composer);
      const origins = { api: '', functions: '' };
      const deps = {
        config,
        bus,
        store,
        metrics,
        functions,
        invocations,
        invoker,
        events,
        quotas,
        secrets,
        apiKey: platform.apiKey?.key,
        keyCache: keys.cache,
        logger,
        origins,
      };
      const server = buildServer(deps);
      cleanups.push(() => server.close());
      const fnServer = buildFunctionsServer(deps);
      cleanups.push(() => fnServer.close());
      origins.api = await listenOrExplain(server, config.host, config.port, 'management API', '--port (NIMBUS_PORT)');
      origins.functions = await listenOrExplain(
        fnServer,
        config.host,
        config.functionsPort,
        'function origin',
        '--functions-port (NIMBUS_FUNCTIONS_PORT)',
      );
      platform.server = server;
      platform.url = origins.api;
      platform.functionsServer = fnServer;
      platform.functionsUrl = origins.functions;
    }
    return platform;
  } catch (e) {
    await close();
    throw e;
  }
}
