// An embedded nimbus in a child process of its own (for tests that SIGKILL the
// platform and start it again on the same data directory), and plain calls to it.
import { after } from 'node:test';
import { freePort } from '../cluster/nats-server.ts';
import { NodeProcess } from '../cluster/node-process.ts';
import { toTestResponse } from './platform.ts';

/** `nimbus serve` on free ports over `dataDir`; SIGKILLed after the test if still running. */
export async function serveEmbedded(dataDir: string): Promise<{ proc: NodeProcess; url: string }> {
  const port = await freePort();
  const { proc } = await NodeProcess.start(
    'embedded',
    ['serve', '--port', String(port), '--functions-port', String(await freePort()), '--data-dir', dataDir],
    {},
    /nimbus is running at (http:\/\/\S+)/,
  );
  after(() => proc.kill('SIGKILL'));
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** One API call to `url` with an optional JSON body. */
export async function callAt(url: string, method: string, p: string, body?: unknown) {
  const init: RequestInit = { method };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (body !== undefined) init.headers = { 'content-type': 'application/json' };
  return toTestResponse(await fetch(`${url}${p}`, init));
}
