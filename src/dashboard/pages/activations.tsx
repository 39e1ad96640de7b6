// The activations list with filters kept in the page's URL (so back and reload
// keep them). Function, status, "before" and the page size go to GET
// /v1/activations; trigger, cold/warm and "after" are applied here to the page
// the server sent (the API has no such parameters), as the page says.
import { useState } from 'preact/hooks';
import { query } from '../api.ts';
import { navigate, type PageProps } from '../router.ts';
import { type Activation, statusClass } from '../types.ts';
import { ago, Guard, ms, useApi } from '../ui.tsx';

const STATUSES = [
  'success',
  'error',
  'timeout',
  'memory_exhausted',
  'crashed',
  'result_too_large',
  'dead_letter',
  'queued',
  'running',
];
const TRIGGERS = ['sync', 'async', 'http', 'cron', 'topic', 'sequence', 'destination'];
const FIELDS = ['function', 'status', 'trigger', 'start', 'before', 'after', 'limit'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;

/** A datetime-local value (local time) or an ISO instant as an ISO instant, or '' when empty or not a time. */
function iso(text: string): string {
  const t = Date.parse(text);
  return text && !Number.isNaN(t) ? new Date(t).toISOString() : '';
}

/** A time as a datetime-local input shows it (local time, to the millisecond, as the cursor of older pages needs). */
function local(text: string): string {
  const t = Date.parse(text);
  if (!text || Number.isNaN(t)) return '';
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 23);
}

export function ActivationsPage({ search }: PageProps) {
  const applied = Object.fromEntries(FIELDS.map((f) => [f, search.get(f) ?? ''])) as Filters;
  const limit = applied.limit || '50';
  const [draft, setDraft] = useState<Filters>({ ...applied, limit });
  const path = `/v1/activations${query({ function: applied.function, status: applied.status, before: iso(applied.before), limit })}`;
  const loaded = useApi<{ activations: Activation[] }>(path);
  const shown = loaded.data?.activations.filter(
    (a) =>
      (!applied.trigger || a.trigger === applied.trigger) &&
      (!applied.start || (applied.start === 'cold') === (a.cold === true)) &&
      (!applied.after || Date.parse(a.createdAt) >= Date.parse(iso(applied.after))),
  );
  const field = (name: keyof Filters) => ({
    name,
    value: name === 'before' || name === 'after' ? local(draft[name]) : draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const oldest = loaded.data?.activations.at(-1)?.createdAt;
  return (
    <>
      <h1>Activations</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/activations${query({ ...draft, limit: draft.limit === '50' ? '' : draft.limit })}`);
        }}
      >
        <label>
          function
          <input {...field('function')} placeholder="any" size={14} />
        </label>
        <label>
          status
          <select {...field('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          trigger
          <select {...field('trigger')}>
            <option value="">any</option>
            {TRIGGERS.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          start
          <select {...field('start')}>
            <option value="">cold or warm</option>
            <option value="cold">cold</option>
            <option value="warm">warm</option>
          </select>
        </label>
        <label>
          after
          <input type="datetime-local" step="0.001" {...field('after')} />
        </label>
        <label>
          before
          <input type="datetime-local" step="0.001" {...field('before')} />
        </label>
        <label>
          page size
          <select {...field('limit')}>
            {['50', '200', '1000'].map((n) => (
              <option value={n}>{n}</option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <p class="muted">
        Function, status and before are asked of the server; trigger, cold/warm and after filter the {limit} newest
        records it returned.
      </p>
      <Guard loaded={loaded}>
        {() => (
          <>
            <ActivationRows activations={shown ?? []} />
            {oldest && loaded.data!.activations.length >= Number(limit) ? (
              <p>
                <a href={`/activations${query({ ...applied, before: oldest })}`}>Older →</a>
              </p>
            ) : null}
          </>
        )}
      </Guard>
    </>
  );
}

export function ActivationRows({ activations }: { activations: Activation[] }) {
  if (activations.length === 0) return <p class="muted">No activations.</p>;
  return (
    <table class="activations">
      <thead>
        <tr>
          <th>Activation</th>
          <th>Function</th>
          <th>Status</th>
          <th>Trigger</th>
          <th>Start</th>
          <th>Engine</th>
          <th class="num">Run</th>
          <th>When</th>
        </tr>
      </thead>
      <tbody>
        {activations.map((a) => (
          <tr data-activation={a.id}>
            <td>
              <a class="mono" href={`/activations/${a.id}`}>
                {a.id.slice(0, 12)}
              </a>
            </td>
            <td>
              <a href={`/functions/${encodeURIComponent(a.functionName)}`}>{a.functionName}</a>{' '}
              <span class="muted">v{a.functionVersion}</span>
            </td>
            <td>
              <span class={`badge ${statusClass(a.status)}`}>{a.status}</span>
            </td>
            <td>{a.trigger}</td>
            <td>{a.cold === null ? '—' : a.cold ? <span class="badge cold">cold</span> : 'warm'}</td>
            <td>{a.engine}</td>
            <td class="num">{ms(a.runMs)}</td>
            <td title={a.createdAt}>{ago(a.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
