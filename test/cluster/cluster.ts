// Starts nimbus cluster nodes as separate processes for a test: front ends
// (`nimbus serve --bus … --store …` on a free port) and invokers (`nimbus
// invoker`), each with its own data directory. Everything started is killed
// by pid in an `after` hook registered where startCluster was called;
// testCluster gives a suite one on its own NATS namespace and database.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { createTestDatabase } from '../storage/pg-database.ts';
import { NodeProcess } from './node-process.ts';
import { freePort } from './nats-server.ts';
import { sharedBusUrl } from './shared-nats.ts';

/** Presence quick enough for tests: a heartbeat each 0.5 s, an invoker gone after 3 s of silence. */
export const FAST_PRESENCE = { presence_ttl: 3000, heartbeat: 500 };

export interface FrontEnd {
  proc: NodeProcess;
  url: string;
  port: number;
  /** The function origin (ANY /fn/:name/*) of this front end. */
  functionsUrl: string;
  functionsPort: number;
}

export class Cluster {
  readonly frontEnds: FrontEnd[] = [];
  readonly invokers = new Map<string, NodeProcess>();
  private readonly dirs: string[] = [];

  /** The secrets' master key every node of this cluster gets (cluster mode requires NIMBUS_MASTER_KEY). */
  readonly masterKey = randomBytes(32).toString('base64');

  constructor(
    readonly bus: string,
    readonly store: string,
  ) {}

  private async dir(name: string): Promise<string> {
    const d = await mkdtemp(path.join(tmpdir(), `nimbus-${name}-`));
    this.dirs.push(d);
    return d;
  }

  async startFrontEnd(port?: number): Promise<FrontEnd> {
    const p = port ?? (await freePort());
    // A free port of its own: port + 1 (the default) may be taken on a busy test machine.
    const fp = await freePort();
    const name = `front-end-${this.frontEnds.length + 1}`;
    const { proc } = await NodeProcess.start(
      name,
      ['serve', '--port', String(p), '--functions-port', String(fp), '--data-dir', await this.dir(name)],
      { NIMBUS_BUS: this.bus, NIMBUS_STORE: this.store, NIMBUS_MASTER_KEY: this.masterKey },
      /front end is running at (http:\/\/\S+)/,
    );
    const fe = {
      proc,
      url: `http://127.0.0.1:${p}`,
      port: p,
      functionsUrl: `http://127.0.0.1:${fp}`,
      functionsPort: fp,
    };
    this.frontEnds.push(fe);
    return fe;
  }

  async startInvoker(id: string, extra: string[] = [], env: Record<string, string> = {}): Promise<NodeProcess> {
    const { proc } = await NodeProcess.start(
      id,
      ['invoker', '--invoker-id', id, '--data-dir', await this.dir(id), ...extra],
      { NIMBUS_BUS: this.bus, NIMBUS_STORE: this.store, NIMBUS_MASTER_KEY: this.masterKey, ...env },
      /nimbus invoker \S+ is running/,
    );
    this.invokers.set(id, proc);
    return proc;
  }

  /** Starts the invokers (id → extra flags) at once, then `frontEnds` front ends at once; the front ends' API URLs. */
  async startNodes(invokers: Record<string, string[]>, frontEnds = 2): Promise<string[]> {
    await Promise.all(Object.entries(invokers).map(([id, flags]) => this.startInvoker(id, flags)));
    return (await Promise.all(Array.from({ length: frontEnds }, () => this.startFrontEnd()))).map((f) => f.url);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.frontEnds.map((f) => f.proc), ...this.invokers.values()].map((p) => p.kill('SIGKILL')));
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }

  /** The output of every node, for failure messages. */
  logs(): string {
    return [...this.frontEnds.map((f) => f.proc), ...this.invokers.values()]
      .map((p) => `--- ${p.name}\n${p.output.slice(-4000)}`)
      .join('\n');
  }
}

/** A cluster on the shared NATS server (FAST_PRESENCE) and a PostgreSQL database of its own, for the calling suite. */
export async function testCluster(): Promise<Cluster> {
  return startCluster(sharedBusUrl(FAST_PRESENCE), await createTestDatabase());
}

/** A cluster whose processes are all killed after the calling suite. */
export function startCluster(bus: string, store: string): Cluster {
  const c = new Cluster(bus, store);
  after(() => c.stop());
  return c;
}
