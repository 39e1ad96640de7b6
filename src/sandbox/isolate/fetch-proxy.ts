// fetch() for isolate functions deployed with network: true. The pool has no
// network of its own, so the host makes the request on the function's
// behalf: http(s) only, bounded by the calling activation's deadline, with
// the response body capped, and only to addresses the egress policy allows
// (checked on the address actually connected, every redirect hop included:
// src/sandbox/network/egress-agent.ts). Functions without network never get here.
// The answers are read into the platform's own process: a sandbox's fetches in
// flight share one byte budget (an eighth of its memoryMb, at least one largest
// answer), so that sixteen parallel 16 MB fetches of a 128 MB function cannot
// make the platform hold 700 MB outside the sandbox caps. An eighth costs no
// function anything: an answer reaches the isolate as base64 and is copied
// into it, several times its size, so more would exhaust its own memory.
import { fetch, type Agent, type Response } from 'undici';
import type { HttpRequestData } from '../../guest/protocol.ts';
import type { FetchedResponse } from '../../guest/isolate-protocol.ts';
import type { EgressPolicy } from '../driver.ts';
import { egressAgent, EGRESS_REFUSED } from '../network/egress-agent.ts';
import { EgressRules } from '../network/policy.ts';

/** Largest response body handed to a function. */
export const FETCH_MAX_BYTES = 16 * 1024 * 1024;
const MAX_FETCH_MS = 60_000;
const DROPPED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
]);

/** Bytes a sandbox's fetches may hold in the platform at once; `total` is what it started with. */
export interface FetchBudget {
  left: number;
  readonly total: number;
}

/** A sandbox's budget: an eighth of its memory, and never less than one largest answer. */
export function fetchBudget(memoryMb: number): FetchBudget {
  const total = Math.max(FETCH_MAX_BYTES, Math.floor((memoryMb * 1024 * 1024) / 8));
  return { left: total, total };
}

async function readCapped(
  res: Response,
  maxBytes: number,
  budget: FetchBudget,
  held: { bytes: number },
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    budget.left -= value.byteLength;
    held.bytes += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`the response body is over ${maxBytes} bytes`);
    }
    if (budget.left < 0) {
      await reader.cancel();
      throw new Error(
        `the answers this sandbox is fetching at once are over ${Math.round(budget.total / 1048576)} MB (an eighth of memoryMb, at least 16 MB); fetch fewer at once, or raise memoryMb`,
      );
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

const agents = new WeakMap<EgressRules | EgressPolicy, Agent>();
const PUBLIC_ONLY: EgressPolicy = { allow: [] };

/** The connection pool for a policy, made once per policy object. */
function agentFor(egress: EgressRules | EgressPolicy): Agent {
  let agent = agents.get(egress);
  if (!agent) {
    agent = egressAgent(egress instanceof EgressRules ? egress : new EgressRules(egress));
    agents.set(egress, agent);
  }
  return agent;
}

/** Without a policy, the public internet only (no operator allow list). */
export async function proxyFetch(
  request: HttpRequestData,
  deadline: number,
  egress: EgressRules | EgressPolicy = PUBLIC_ONLY,
  maxBytes = FETCH_MAX_BYTES,
  budget: FetchBudget = fetchBudget(0),
): Promise<{ response?: FetchedResponse; error?: string }> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return { error: `invalid URL ${JSON.stringify(request.url)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { error: `only http and https URLs can be fetched, not ${url.protocol}` };
  const ms = Math.min(MAX_FETCH_MS, deadline - Date.now());
  if (ms <= 0) return { error: 'the call is past its deadline' };
  const headers = Object.entries(request.headers).filter(([k]) => !DROPPED_HEADERS.has(k.toLowerCase()));
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const held = { bytes: 0 };
  try {
    const res = await fetch(url, {
      method: request.method,
      headers,
      body: hasBody ? Buffer.from(request.bodyBase64, 'base64') : undefined,
      redirect: 'follow',
      signal: AbortSignal.timeout(ms),
      dispatcher: agentFor(egress),
    });
    const body = await readCapped(res, maxBytes, budget, held);
    return {
      response: {
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers],
        bodyBase64: body.toString('base64'),
        url: res.url,
        redirected: res.redirected,
      },
    };
  } catch (e) {
    const err = e as Error & { cause?: { message?: string; code?: string } };
    if (err.cause?.code === EGRESS_REFUSED) return { error: err.cause.message ?? 'egress refused' };
    return {
      error: `${err.name === 'TimeoutError' ? `no answer within ${ms} ms` : err.message}${err.cause?.message ? ` (${err.cause.message})` : ''}`,
    };
  } finally {
    budget.left += held.bytes;
  }
}
