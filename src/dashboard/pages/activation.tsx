// One activation: what ran (function, version, engine, sandbox, trigger), its
// timing split into queued / init / run as one horizontal bar, the result or
// the error with its stack, and the logs.
import { useEffect } from 'preact/hooks';
import type { PageProps } from '../router.ts';
import { type Activation, statusClass } from '../types.ts';
import { ago, Guard, Json, ms, useApi } from '../ui.tsx';

export function ActivationPage({ params }: PageProps) {
  const id = params.id!;
  const loaded = useApi<Activation>(`/v1/activations/${encodeURIComponent(id)}`);
  // A call still queued or running is read again each second until it ends.
  const pending = loaded.data?.status === 'queued' || loaded.data?.status === 'running';
  useEffect(() => {
    if (!pending || loaded.loading) return;
    const timer = setTimeout(loaded.reload, 1000);
    return () => clearTimeout(timer);
  }, [pending, loaded.loading, loaded.reload]);
  return (
    <>
      <p class="muted">
        <a href="/activations">Activations</a> /
      </p>
      <h1 class="mono">{id}</h1>
      <Guard loaded={loaded}>{(a) => <Details a={a} />}</Guard>
    </>
  );
}

function Details({ a }: { a: Activation }) {
  return (
    <>
      <section class="card">
        <dl class="config">
          <dt>function</dt>
          <dd>
            <a href={`/functions/${encodeURIComponent(a.functionName)}`}>{a.functionName}</a> v{a.functionVersion}
            {a.alias ? ` (alias ${a.alias})` : ''}
          </dd>
          <dt>status</dt>
          <dd>
            <span class={`badge ${statusClass(a.status)}`}>{a.status}</span>
            {a.attempts > 1 ? ` after ${a.attempts} attempts` : ''}
          </dd>
          <dt>trigger</dt>
          <dd>{a.trigger}</dd>
          <dt>start</dt>
          <dd>{a.cold === null ? '—' : a.cold ? 'cold' : 'warm'}</dd>
          <dt>engine</dt>
          <dd>
            {a.engine}
            {a.engineDetails ? (
              <span class="muted">
                {' '}
                {Object.entries(a.engineDetails)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(', ')}
              </span>
            ) : null}
          </dd>
          <dt>sandbox</dt>
          <dd class="mono">
            {a.sandboxId ?? '—'} {a.invoker ? <span class="muted">on {a.invoker}</span> : null}
          </dd>
          <dt>created</dt>
          <dd title={a.createdAt}>{ago(a.createdAt)}</dd>
          <dt>memory</dt>
          <dd>
            {a.maxMemoryMb === null ? '—' : `${a.maxMemoryMb} MB peak`}
            {a.gbSeconds === null ? '' : ` · ${a.gbSeconds.toFixed(4)} GB-s`}
          </dd>
          {a.parentActivationId ? (
            <>
              <dt>sequence</dt>
              <dd>
                <a class="mono" href={`/activations/${a.parentActivationId}`}>
                  {a.parentActivationId}
                </a>
              </dd>
            </>
          ) : null}
        </dl>
      </section>
      <h2>Timing</h2>
      <TimingBar a={a} />
      {a.childActivationIds?.length ? (
        <>
          <h2>Steps</h2>
          <ol>
            {a.childActivationIds.map((c) => (
              <li>
                <a class="mono" href={`/activations/${c}`}>
                  {c}
                </a>
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {a.error ? (
        <>
          <h2>Error</h2>
          <div class="error">
            <strong>{a.error.code}</strong>: {a.error.message}
          </div>
          {a.error.stack ? <pre class="logs stack">{a.error.stack}</pre> : null}
        </>
      ) : (
        <>
          <h2>Result</h2>
          <Json value={a.result ?? null} />
        </>
      )}
      <h2>Logs</h2>
      <pre class="logs">{a.logs || '(no output)'}</pre>
      {a.logsTruncated ? <p class="muted">The logs were cut at the platform's limit.</p> : null}
    </>
  );
}

const PARTS = [
  ['queued', 'queuedMs', 'waiting for a sandbox or a slot'],
  ['init', 'initMs', 'starting the sandbox and loading the code (cold starts)'],
  ['run', 'runMs', 'the handler'],
] as const;

/** The call's time as one bar split queued / init / run (a share of their total each). */
export function TimingBar({ a }: { a: Pick<Activation, 'queuedMs' | 'initMs' | 'runMs'> }) {
  const total = PARTS.reduce((sum, [, key]) => sum + (a[key] ?? 0), 0);
  if (total === 0) return <p class="muted">No timing recorded (the call has not run).</p>;
  return (
    <div class="card">
      <div class="timing" role="img" aria-label={PARTS.map(([label, key]) => `${label} ${ms(a[key])}`).join(', ')}>
        {PARTS.map(([label, key, why]) =>
          a[key] ? (
            <span
              class={label}
              style={{ width: `${(100 * a[key]!) / total}%` }}
              title={`${label}: ${ms(a[key])}, ${why}`}
            />
          ) : null,
        )}
      </div>
      <div class="legend">
        {PARTS.map(([label, key]) => (
          <span>
            <i class={`swatch ${label}`} />
            {label} {ms(a[key])}
          </span>
        ))}
        <span>total {ms(total)}</span>
      </div>
    </div>
  );
}
