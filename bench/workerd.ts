// The peer row of bench/core.bench.ts: workerd (Cloudflare's isolate runtime,
// the npm package `workerd`, a devDependency) serving the same hello handler as
// a fetch worker, at its default configuration (one process, one isolate). The
// capnp config and the worker go into a temp dir of their own (0700); workerd
// listens on a loopback port only.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The hello handler of the other rows, as a Workers fetch handler. */
const WORKER = `export default {
  async fetch(request) {
    const event = await request.json().catch(() => ({}));
    return Response.json({ message: \`Hello, \${event.name ?? "world"}!\` });
  },
};
`;

/** workerd's own binary, from its per-platform package (the one `workerd` depends on for this machine). */
function workerdBinary(): string {
  const arch = { x64: '64', arm64: 'arm64' }[process.arch as string];
  if (!arch || process.platform !== 'linux')
    throw new Error(`no workerd package for ${process.platform}/${process.arch}`);
  const require = createRequire(import.meta.url);
  return require.resolve(`@cloudflare/workerd-linux-${arch}/bin/workerd`);
}

/** A port nothing listens on right now (loopback), for workerd's socket. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Workerd {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Starts workerd serving the hello worker; resolves once it answers a request. */
export async function startWorkerd(): Promise<Workerd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbus-bench-workerd-'));
  await chmod(dir, 0o700);
  const port = await freePort();
  await writeFile(path.join(dir, 'worker.js'), WORKER, { mode: 0o600 });
  await writeFile(
    path.join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const hello :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2026-11-17",
);
`,
    { mode: 0o600 },
  );
  let out = '';
  const child = spawn(workerdBinary(), ['serve', path.join(dir, 'config.capnp')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
  child.stderr?.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    const ok = await fetch(url, { method: 'POST', body: '{"name":"probe"}' }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`workerd did not answer on ${url} within 15 s:\n${out}`);
}
