// API fuzz test: a bounded, seeded run of random requests (fuzz-requests.ts)
// against a real embedded platform, over both listeners, without a key and
// with one. Properties: no 5xx but 502/503/504; every error the platform
// answers is {error: {code, message}} with the status http-errors.ts maps its
// code to; without a key, a foreign Host never reaches a route; a refused
// request stores nothing (the function list and the newest activation are
// unchanged); and afterwards the platform still deploys and runs a function.
// FUZZ_SEED replays a run, FUZZ_RUNS sets its length.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { statusFor } from '../../src/frontend/http-errors.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { FIXTURES, FIXTURE_NAMES, fuzzRequest, type FuzzRequest } from './fuzz-requests.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Sends a request exactly as generated (raw path, own Host or none), on a fresh connection. */
/** The platform's limit for bodies other than deploys (6 MB). */
const BODY_LIMIT = 6 * 1024 * 1024;
const OVER_LIMIT_RESET = JSON.stringify({
  error: { code: 'payload_too_large', message: 'the connection was reset while the over-limit body was sent' },
});

function send(port: number, r: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Node sends a DELETE's or OPTIONS's body without a length unless told: say it, as clients do.
    const headers = r.body ? { ...r.headers, 'content-length': String(r.body.length) } : r.headers;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        headers,
        setHost: false,
        agent: false,
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A server may answer an upload over the body limit at once and close the connection while the
      // client still writes it (the reset can reach the client before the answer): also a refusal.
      if ((r.body?.length ?? 0) > BODY_LIMIT && (e.code === 'ECONNRESET' || e.code === 'EPIPE'))
        resolve({ status: 413, headers: {}, text: OVER_LIMIT_RESET });
      // Say which request, since a CI log may keep only the last lines of the failure.
      else reject(new Error(`${e.message} on ${oneLine(r)}`, { cause: e }));
    });
    req.end(r.body);
  });
}

/**
 * Sends, and once more on a new connection if the first was reset before any answer; a reset
 * again on the retry fails the run, naming the request. The reset CI saw (a GET carrying a 1.2 MB
 * body, answered without reading it, then closed with the body unread) is fixed (drain-body.ts)
 * and held by odd-input.test.ts; a first reset is still logged, with its request.
 */
async function sendOrResend(port: number, r: FuzzRequest): Promise<Answer> {
  try {
    return await send(port, r);
  } catch (e) {
    const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code !== 'ECONNRESET' && code !== 'EPIPE') throw e;
    console.log(`fuzz: connection reset before an answer, sending again: ${(e as Error).message}`);
    return send(port, r);
  }
}

/** A request in one line: method, listener, path, headers and body size. */
function oneLine(r: FuzzRequest): string {
  return `${r.method} ${r.origin} ${r.path.slice(0, 200)} headers ${JSON.stringify(r.headers).slice(0, 300)} body ${r.body?.length ?? 0} bytes`;
}

/**
 * Whether this is the answer fixture's own answer (its status and body are the function's, not
 * the platform's): the status its query's last `s` asked for, as the function reads it.
 */
function ownAnswer(r: FuzzRequest, a: Answer): boolean {
  if (r.origin !== 'fn' || !/^\/fn\/answer(\/|\?|$)/.test(r.path) || !a.headers['x-nimbus-activation-id']) return false;
  const query = r.path.includes('?') ? r.path.slice(r.path.indexOf('?') + 1) : '';
  const asked = [...new URLSearchParams(query)].filter(([k]) => k === 's').at(-1)?.[1];
  return asked !== undefined && Number(asked) === a.status;
}

/** Why an answer breaks the contract, or undefined. */
function contractBreach(r: FuzzRequest, a: Answer, hostChecked: boolean): string | undefined {
  if (ownAnswer(r, a)) return undefined;
  if (a.status >= 500 && ![502, 503, 504].includes(a.status)) return `status ${a.status}`;
  if (hostChecked && r.foreignHost && ![400, 401, 414, 421, 431].includes(a.status))
    return `a foreign Host got ${a.status}, not 421`;
  if (a.status < 400 || r.method === 'HEAD') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return `error body is not JSON: ${a.text.slice(0, 200)}`;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
  if (
    Object.keys(body ?? {}).join() !== 'error' ||
    typeof error?.code !== 'string' ||
    typeof error.message !== 'string' ||
    !error.message
  ) {
    return `error body is not {error: {code, message}}: ${a.text.slice(0, 200)}`;
  }
  if (statusFor(error.code) !== a.status)
    return `code ${error.code} came with status ${a.status}, not ${statusFor(error.code)}`;
  return undefined;
}

/**
 * Both ways a front end guards itself: on loopback without a key (the Host check: a foreign Host
 * must get 421), and with an API key (no Host check; most requests carry the key).
 */
const MODES = [
  { name: 'on loopback without a key', apiKey: undefined, runs: RUNS },
  { name: 'with an API key', apiKey: 'nmb_fuzz_0123456789abcdef', runs: Math.ceil(RUNS / 5) },
];

for (const mode of MODES)
  describe(`API fuzz, ${mode.name}`, () => {
    let t: TestPlatform;
    let ports: { api: number; fn: number };
    const auth: Record<string, string> = mode.apiKey ? { authorization: `Bearer ${mode.apiKey}` } : {};
    const deployFixture = async (name: string) => {
      const f = FIXTURES[name as keyof typeof FIXTURES];
      const r = await t.request('PUT', `/v1/functions/${name}`, { runtime: 'nodejs', code: f.code, ...f.config }, auth);
      assert.ok(r.status < 300, `${name}: ${r.text}`);
    };
    /**
     * What a refused request must leave as it was: the functions (their versions) and the newest
     * activation, read from the platform's store (what GET /v1/functions and /v1/activations read).
     */
    const stored = async () => {
      const fns = await t.platform.store.listFunctions();
      const newest = await t.platform.store.listActivations({ limit: 1 });
      return `${JSON.stringify(fns.map((f) => [f.name, f.version, f.artifactSha256]))}\n${newest[0]?.id ?? 'none'}`;
    };

    before(async () => {
      t = await startTestPlatform(mode.apiKey ? { apiKey: mode.apiKey } : {});
      ports = { api: Number(new URL(t.url).port), fn: Number(new URL(t.functionsUrl).port) };
      for (const name of FIXTURE_NAMES) await deployFixture(name);
    });
    after(() => t.close());

    it(`${mode.runs} random requests over both listeners stay inside the contract (FUZZ_SEED=${SEED})`, async () => {
      const seen = new Map<number, number>();
      const property = fc.asyncProperty(fuzzRequest(ports, mode.apiKey), async (r) => {
        const before = await stored();
        const a = await sendOrResend(r.origin === 'api' ? ports.api : ports.fn, r);
        seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
        if (process.env.FUZZ_DEBUG)
          console.log(a.status, r.method, r.origin, r.path.slice(0, 80), a.text.slice(0, 120));
        const breach = contractBreach(r, a, !mode.apiKey);
        if (breach)
          throw new Error(
            `${breach}\n  answer: ${a.status} ${JSON.stringify(a.headers)}\n  request: ${r.method} ${r.origin} ${r.path.slice(0, 300)}`,
          );
        if (a.status >= 400 && a.status < 500 && !ownAnswer(r, a)) {
          assert.equal(
            await stored(),
            before,
            `a refused request (${a.status}) stored something: ${r.method} ${r.path.slice(0, 300)}`,
          );
        }
        // A fuzzed deploy or delete that hit a fixture: put it back, so the rest of the run still reaches it.
        const hit = /^\/v1\/functions\/([a-z]+)$/.exec(r.path.split('?')[0] ?? '');
        if (
          r.origin === 'api' &&
          a.status < 300 &&
          (r.method === 'PUT' || r.method === 'DELETE') &&
          hit?.[1] &&
          FIXTURE_NAMES.includes(hit[1])
        )
          await deployFixture(hit[1]);
      });
      try {
        await fc.assert(property, { seed: SEED, numRuns: mode.runs, endOnFailure: true });
      } catch (e) {
        const cause =
          (e as Error).cause instanceof Error ? `\n  what broke: ${((e as Error).cause as Error).message}` : '';
        throw new Error(
          `API fuzz failed; replay with FUZZ_SEED=${SEED}: ${(e as Error).message}${cause}\n  replay with FUZZ_SEED=${SEED}`,
        );
      }
      const statuses = [...seen]
        .sort(([x], [y]) => x - y)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ');
      console.log(`fuzz ${mode.name}: seed ${SEED}, ${mode.runs} requests; statuses: ${statuses}`);
      assert.ok(seen.size >= 8, `the requests reached few outcomes (${statuses}): the generator is too narrow`);
    });

    it('afterwards the platform still deploys and invokes, on both listeners', async () => {
      const d = await t.request(
        'PUT',
        '/v1/functions/after-fuzz',
        { runtime: 'nodejs', code: 'exports.handler = async (e) => ({ got: e })' },
        auth,
      );
      assert.equal(d.status, 201, d.text);
      const r = await t.request('POST', '/v1/functions/after-fuzz/invoke', { ok: 1 }, auth);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { got: { ok: 1 } });
      const f = await t.fnRequest('POST', '/fn/web/after', 'still here', { 'content-type': 'text/plain', ...auth });
      assert.equal(f.status, 200, f.text);
      assert.equal(f.text, 'still here');
    });
  });
