// The functions list: each function's engine and version from GET /v1/functions,
// and its last call and error rate from its most recent activations (one bounded
// request per function, at most a few at a time, for the first 100 functions).
import { useEffect, useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import type { PageProps } from '../router.ts';
import { type Activation, FAILED, type FunctionInfo } from '../types.ts';
import { ago, Guard, useApi } from '../ui.tsx';

/** How many recent calls the error rate is over. */
export const RECENT = 20;
const MAX_FUNCTIONS = 100;
const PARALLEL = 4;

interface Recent {
  last?: string;
  calls: number;
  failed: number;
}

export function FunctionsPage(_props: PageProps) {
  const loaded = useApi<{ functions: FunctionInfo[] }>('/v1/functions');
  const recent = useRecent(loaded.data?.functions);
  return (
    <>
      <h1>Functions</h1>
      <Guard loaded={loaded}>
        {({ functions }) =>
          functions.length === 0 ? (
            <p class="muted">
              No functions in this namespace yet: deploy one with <code>nimbus deploy</code> or{' '}
              <code>PUT /v1/functions/:name</code>.
            </p>
          ) : (
            <table class="functions">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Engine</th>
                  <th>Runtime</th>
                  <th class="num">Version</th>
                  <th>Last call</th>
                  <th class="num" title={`over the last ${RECENT} calls`}>
                    Error rate (last {RECENT})
                  </th>
                </tr>
              </thead>
              <tbody>
                {functions.map((f) => {
                  const r = recent[f.name];
                  return (
                    <tr data-function={f.name}>
                      <td>
                        <a href={`/functions/${encodeURIComponent(f.name)}`}>{f.name}</a>
                      </td>
                      <td>{f.kind === 'sequence' ? 'sequence' : (f.config.engine ?? '—')}</td>
                      <td>{f.config.runtime ?? '—'}</td>
                      <td class="num">v{f.version}</td>
                      <td>{r === undefined ? '…' : ago(r.last)}</td>
                      <td class="num">{r === undefined ? '…' : rate(r)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </Guard>
      {loaded.data && loaded.data.functions.length > MAX_FUNCTIONS ? (
        <p class="muted">Last call and error rate are shown for the first {MAX_FUNCTIONS} functions.</p>
      ) : null}
    </>
  );
}

function rate(r: Recent): string {
  return r.calls === 0 ? '—' : `${Math.round((100 * r.failed) / r.calls)}% of ${r.calls}`;
}

/** Each function's recent calls, fetched a few at a time. */
function useRecent(functions: FunctionInfo[] | undefined): Record<string, Recent> {
  const [recent, setRecent] = useState<Record<string, Recent>>({});
  useEffect(() => {
    if (!functions) return;
    let live = true;
    const queue = functions.slice(0, MAX_FUNCTIONS).map((f) => f.name);
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined && live; name = queue.shift()) {
        const path = `/v1/activations${query({ function: name, limit: RECENT })}`;
        const r = await get<{ activations: Activation[] }>(path).catch(() => ({ activations: [] }));
        const done = r.activations.filter((a) => a.status !== 'queued' && a.status !== 'running');
        const summary = {
          last: r.activations[0]?.createdAt,
          calls: done.length,
          failed: done.filter((a) => FAILED.includes(a.status)).length,
        };
        if (live) setRecent((s) => ({ ...s, [name!]: summary }));
      }
    };
    void Promise.all(Array.from({ length: PARALLEL }, worker));
    return () => {
      live = false;
    };
  }, [functions]);
  return recent;
}
