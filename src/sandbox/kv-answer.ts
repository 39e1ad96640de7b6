// How every sandbox answers its function's KV operations: through the port the
// invoker bound to that function (src/state/kv-port.ts), and always with an
// answer, so that a fault in the platform never leaves the function waiting.
import type { KvAnswer, KvRequest } from '../guest/kv-protocol.ts';
import type { StatePort } from './driver.ts';

export function answerKv(port: StatePort | undefined, request: KvRequest): Promise<KvAnswer> {
  if (!port) return Promise.resolve({ ok: false, error: 'function state (KV) is not available in this sandbox' });
  return port.call(request).catch(() => ({ ok: false, error: 'the KV operation failed in the platform' }));
}
