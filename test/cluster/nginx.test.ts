// Two front ends behind nginx, configured by the shipped deploy/nginx.conf
// (its upstream servers and listen port rewritten to this test's loopback
// ports, run with a temporary prefix): /fn/ reaches the front ends' function
// origin on a listener of its own, and requests keep succeeding when one
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

const serverLines = (ports: number[]) =>
  ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join('\n');

/** deploy/nginx.conf with its upstream servers and listen ports (API, function origin) replaced, inside a minimal main config. */
async function nginxConfig(
  prefix: string,
  port: number,
  fnPort: number,
  upstreams: number[],
  fnUpstreams: number[],
): Promise<string> {
  const site = await readFile(SITE, 'utf8');
  const rewritten = site
    .replace(/(upstream nimbus_frontends \{[^}]*?)(\n\s*server [^\n]+)+/, `$1\n${serverLines(upstreams)}`)
    .replace(/(upstream nimbus_functions \{[^}]*?)(\n\s*server [^\n]+)+/, `$1\n${serverLines(fnUpstreams)}`)
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
    .replace(/listen 8081;/, `listen 127.0.0.1:${fnPort};`);
  for (const expected of [
    `127.0.0.1:${upstreams[0]}`,
    `127.0.0.1:${fnUpstreams[0]}`,
    `listen 127.0.0.1:${port}`,
    `listen 127.0.0.1:${fnPort}`,
  ]) {
    assert.ok(
      rewritten.includes(expected),
      `deploy/nginx.conf has the expected upstream and listen lines (${expected})`,
    );
  }
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${prefix}/tmp/${t};`)
    .join('\n');
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;\ndaemon off;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log warn;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n${temp}\n${rewritten}\n}\n`;
}

describe('cluster: two front ends behind nginx', async () => {
  const c = startCluster(sharedBusUrl({ presence_ttl: 3000, heartbeat: 500 }), await createTestDatabase());
  const prefix = await createTempDir('nimbus-nginx');
  let lb = '';
  let lbFunctions = '';
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
    const fnPort = await freePort();
    await mkdir(path.join(prefix, 'tmp'), { recursive: true });
    await writeFile(
      path.join(prefix, 'nginx.conf'),
      await nginxConfig(prefix, port, fnPort, [a!.port, b!.port], [a!.functionsPort, b!.functionsPort]),
    );
    nginx = spawn(NGINX, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    nginx.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const proc = nginx;
    lb = `http://127.0.0.1:${port}`;
    lbFunctions = `http://127.0.0.1:${fnPort}`;
    const end = Date.now() + 10_000;
    for (;;) {
      const ok = await call(lb, 'GET', '/healthz', undefined, {}, 2000).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`nginx did not come up: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('routes /fn/ to the function origin and keeps the two origins apart', async () => {
    const code =
      'export default { fetch: (req) => new Response(new URL(req.url).pathname, { headers: { "x-nimbus-activation-id": "forged" } }) }';
    assert.equal((await deploy(lb, 'web', code)).status, 201);
    const r = await call(lbFunctions, 'GET', '/fn/web/a/b');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, '/a/b');
    assert.match(r.headers.get('x-nimbus-activation-id') ?? '', /^[0-9a-f]{32}$/);
    const onApi = await call(lb, 'GET', '/fn/web/a/b');
    assert.equal(onApi.status, 404);
    assert.match(onApi.json.error.message, /their own origin: port 8081/);
    for (const p of ['/v1/functions', '/metrics']) assert.equal((await call(lbFunctions, 'GET', p)).status, 404, p);
    assert.equal((await call(lbFunctions, 'GET', '/healthz')).status, 200);
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
