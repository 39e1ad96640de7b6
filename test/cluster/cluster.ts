// Starts nimbus cluster nodes as separate processes for a test: front ends
// (`nimbus serve --bus … --store …` on a free port) and invokers (`nimbus
// invoker`), each with its own data directory. Everything started is killed
// by pid in an `after` hook registered where startCluster was called.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { NodeProcess } from './node-process.ts';
import { freePort } from './nats-server.ts';

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

/** A cluster whose processes are all killed after the calling suite. */
export function startCluster(bus: string, store: string): Cluster {
  const c = new Cluster(bus, store);
  after(() => c.stop());
  return c;
}
