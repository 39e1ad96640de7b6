// A TCP proxy on loopback that a test controls: forwards connections to a
// target until cut (every connection reset, new ones refused) or frozen (no
// data moves, nothing is reset), then can be restored on the same port. Stands in for a network failure between a
// nimbus process and its database.
import net from 'node:net';

export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(port, '127.0.0.1', r));
    const chosen = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const proxy = new TcpProxy(chosen, target);
    await proxy.restore();
    return proxy;
  }

  /** Starts forwarding again (after a cut). */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      if (this.frozen) {
        client.pause();
        return;
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /**
   * Silence without a reset (a partition, a hung server): open connections
   * stop carrying data and new ones are accepted but never answered.
   */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
  }

  /** Resets every open connection and refuses new ones. */
  async cut(): Promise<void> {
    this.frozen = false;
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    if (server) await new Promise((r) => server.close(r));
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
