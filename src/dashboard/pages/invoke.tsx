// The invoke form of a function's page: the event as JSON → POST
// /v1/functions/:name/invoke, then the answer (status, result or error,
// cold or warm, the activation's id as a link) and the activation's logs.
import { useState } from 'preact/hooks';
import { ApiError, get, request } from '../api.ts';
import type { Activation } from '../types.ts';
import { ErrorBox, Json, ms } from '../ui.tsx';

interface Outcome {
  status: number;
  body: unknown;
  activationId?: string;
  cold?: string;
  record?: Activation;
  recordMissing?: string;
}

export function InvokeForm({ name, onDone }: { name: string; onDone?: () => void }) {
  const [event, setEvent] = useState('{\n  "name": "dashboard"\n}');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Error | undefined>();
  const [outcome, setOutcome] = useState<Outcome | undefined>();

  const invoke = async () => {
    let parsed: unknown;
    try {
      parsed = event.trim() === '' ? {} : JSON.parse(event);
    } catch (e) {
      setProblem(new Error(`the event is not JSON: ${(e as Error).message}`));
      return;
    }
    setBusy(true);
    setProblem(undefined);
    setOutcome(undefined);
    try {
      const answer = await call(name, parsed);
      setOutcome(answer);
      // The record holds the logs; a records policy may not keep a successful call's.
      if (answer.activationId) {
        const record = await get<Activation>(`/v1/activations/${answer.activationId}`).catch((e: Error) => e);
        setOutcome({
          ...answer,
          ...(record instanceof Error ? { recordMissing: record.message } : { record }),
        });
      }
    } catch (e) {
      setProblem(e as Error);
    } finally {
      setBusy(false);
      onDone?.();
    }
  };

  return (
    <form
      class="card invoke"
      onSubmit={(e) => {
        e.preventDefault();
        void invoke();
      }}
    >
      <h2>Invoke</h2>
      <label for="event" class="muted">
        Event (JSON)
      </label>
      <textarea id="event" name="event" rows={6} value={event} onInput={(e) => setEvent(e.currentTarget.value)} />
      <p>
        <button type="submit" disabled={busy}>
          {busy ? 'Invoking…' : 'Invoke'}
        </button>
      </p>
      <ErrorBox error={problem} />
      {outcome ? <OutcomeView outcome={outcome} /> : null}
    </form>
  );
}

/** One sync call; a function's failure (4xx/5xx with an activation) is an outcome too, not a form error. */
async function call(name: string, event: unknown): Promise<Outcome> {
  try {
    const r = await request('POST', `/v1/functions/${encodeURIComponent(name)}/invoke`, event);
    return outcomeOf(r.status, r.body, r.headers);
  } catch (e) {
    if (!(e instanceof ApiError) || !e.headers?.get('x-nimbus-activation-id')) throw e;
    return outcomeOf(e.status, e.body, e.headers);
  }
}

function outcomeOf(status: number, body: unknown, headers: Headers): Outcome {
  return {
    status,
    body,
    activationId: headers.get('x-nimbus-activation-id') ?? undefined,
    cold: headers.get('x-nimbus-cold-start') ?? undefined,
  };
}

function OutcomeView({ outcome }: { outcome: Outcome }) {
  const r = outcome.record;
  return (
    <div class="invoke-outcome" data-status={outcome.status}>
      <p>
        Status <span class={`badge ${outcome.status < 400 ? 'ok' : 'bad'}`}>{outcome.status}</span>{' '}
        {outcome.cold === 'true' ? <span class="badge cold">cold start</span> : <span class="badge">warm</span>}{' '}
        {outcome.activationId ? (
          <>
            activation{' '}
            <a class="mono activation-link" href={`/activations/${outcome.activationId}`}>
              {outcome.activationId}
            </a>
          </>
        ) : null}
        {r ? <span class="muted"> · run {ms(r.runMs)}</span> : null}
      </p>
      <h3>{outcome.status < 400 ? 'Result' : 'Error'}</h3>
      <Json value={outcome.body} />
      <h3>Logs</h3>
      {r ? (
        <pre class="logs">{r.logs || '(no output)'}</pre>
      ) : (
        <p class="muted">{outcome.recordMissing ? `No record: ${outcome.recordMissing}` : 'Loading…'}</p>
      )}
    </div>
  );
}
