// Two front ends behind nginx, configured by the shipped deploy/nginx.conf
// (its upstream servers and listen port rewritten to this test's loopback
// ports, run with a temporary prefix): requests keep succeeding when one
// front end is killed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase } from '../storage/pg-database.ts';
import { startCluster } from './cluster.ts';
import { call, deploy, invoke } from './http.ts';
import { freePort } from './nats-server.ts';
import { sharedBusUrl } from './shared-nats.ts';
import { createTempDir } from './temp.ts';

const SITE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/nginx.conf');
const NGINX = process.env.NIMBUS_NGINX ?? '/usr/sbin/nginx';

/** deploy/nginx.conf with its upstream servers and listen port replaced, inside a minimal main config. */
async function nginxConfig(prefix: string, port: number, upstreams: number[]): Promise<string> {
  const site = await readFile(SITE, 'utf8');
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join('\n');
  const rewritten = site
    .replace(/(upstream nimbus_frontends \{[^}]*?)(\n\s*server [^\n]+)+/, `$1\n${servers}`)
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  assert.ok(rewritten.includes(`127.0.0.1:${upstreams[0]}`) && rewritten.includes(`listen 127.0.0.1:${port}`), 'deploy/nginx.conf has the expected upstream and listen lines');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/tmp/${t};`).join('\n');
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;\ndaemon off;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log warn;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n${temp}\n${rewritten}\n}\n`;
}

describe('cluster: two front ends behind nginx', async () => {
  const c = startCluster(sharedBusUrl({ presence_ttl: 3000, heartbeat: 500 }), await createTestDatabase());
  const prefix = await createTempDir('nimbus-nginx');
  let lb = '';
  let nginx: ChildProcess | undefined;
  after(async () => {
    // SIGTERM: the master stops its workers too (SIGKILL would orphan them).
    const proc = nginx;
    if (!proc || proc.exitCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });

  before(async () => {
    await c.startInvoker('inv-1');
    const [a, b] = await Promise.all([c.startFrontEnd(), c.startFrontEnd()]);
    const port = await freePort();
    await mkdir(path.join(prefix, 'tmp'), { recursive: true });
    await writeFile(path.join(prefix, 'nginx.conf'), await nginxConfig(prefix, port, [a!.port, b!.port]));
    nginx = spawn(NGINX, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const proc = nginx;
    lb = `http://127.0.0.1:${port}`;
    const end = Date.now() + 10_000;
    for (;;) {
      const ok = await call(lb, 'GET', '/healthz', undefined, {}, 2000).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`nginx did not come up: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('keeps serving when one front end dies', async () => {
    assert.equal((await deploy(lb, 'lb', 'exports.handler = async (e) => ({ got: e.n })')).status, 201);
    for (let n = 0; n < 10; n++) assert.deepEqual((await invoke(lb, 'lb', { n })).json, { got: n });
    await c.frontEnds[0]?.proc.kill('SIGKILL');
    const failures: string[] = [];
    for (let n = 0; n < 30; n++) {
      const r = n % 3 === 0 ? await call(lb, 'GET', '/v1/functions/lb') : await invoke(lb, 'lb', { n });
      if (r.status !== 200) failures.push(`${n}: ${r.status} ${r.text.slice(0, 120)}`);
      else if (n % 3 !== 0) assert.deepEqual(r.json, { got: n });
    }
    assert.deepEqual(failures, []);
    const async = await invoke(lb, 'lb', { n: 99 }, '?async=1');
    assert.equal(async.status, 202);
  });
});
