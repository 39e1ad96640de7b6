// The Sandboxes page: every live sandbox of the namespace by engine and
// function (state, memory, CPUs, age, calls), and the VM operations on them:
// create (pre-warm), resize, migrate, delete. Each answers in a line with what
// happened, or with the API's message saying why the engine cannot.
import { useEffect, useState } from 'preact/hooks';
import './ops.css';
import { ApiError, request } from '../api.ts';
import type { PageProps } from '../router.ts';
import { ago, Guard, ms, useApi } from '../ui.tsx';

interface SandboxRow {
  id: string;
  engine: string;
  functionName: string;
  functionVersion: number;
  state: string;
  memoryMb: number;
  cpus: number;
  createdAt: string;
  inflight: number;
  calls?: number;
  lastUsed: string;
  invoker?: string;
}

interface Outcome {
  ok: boolean;
  text: string;
}

const REFRESH_MS = 5000;

export function SandboxesPage(_props: PageProps) {
  const list = useApi<{ sandboxes: SandboxRow[]; capacity?: Record<string, number> }>('/v1/sandboxes');
  const fns = useApi<{ functions: { name: string; config: { engine?: string; kind?: string } }[] }>('/v1/functions');
  const [outcome, setOutcome] = useState<Outcome>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const timer = setInterval(list.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [list.reload]);

  /** Runs one operation, says what it did or why not, and reloads the list. */
  const run = async (what: string, op: () => Promise<string>) => {
    setBusy(true);
    setOutcome({ ok: true, text: `${what}…` });
    try {
      setOutcome({ ok: true, text: await op() });
    } catch (e) {
      const why = e instanceof ApiError ? `${e.status} ${e.code}: ${e.message}` : (e as Error).message;
      setOutcome({ ok: false, text: `${what} failed: ${why}` });
    } finally {
      setBusy(false);
      list.reload();
    }
  };

  const prewarm = (name: string) =>
    run(`pre-warming ${name}`, async () => {
      const s = (await request<SandboxRow>('POST', `/v1/functions/${encodeURIComponent(name)}/sandboxes`)).body;
      return `started ${s.engine} sandbox ${s.id} for ${name} v${s.functionVersion} with ${s.memoryMb} MB`;
    });
  const resize = (s: SandboxRow, memoryMb: number) =>
    run(`resizing ${s.id}`, async () => {
      const r = (
        await request<{ before: { memoryMb: number }; after: { memoryMb: number } }>(
          'PATCH',
          `/v1/sandboxes/${encodeURIComponent(s.id)}`,
          { memoryMb },
        )
      ).body;
      return `resized ${s.id} from ${r.before.memoryMb} MB to ${r.after.memoryMb} MB`;
    });
  const migrate = (s: SandboxRow) =>
    run(`migrating ${s.id}`, async () => {
      const r = (
        await request<{ totalMs: number; downtimeMs?: number }>(
          'POST',
          `/v1/sandboxes/${encodeURIComponent(s.id)}/migrate`,
          {},
        )
      ).body;
      return `migrated ${s.id} in ${ms(r.totalMs)}${r.downtimeMs === undefined ? '' : `, paused ${ms(r.downtimeMs)}`}`;
    });
  const remove = (s: SandboxRow) =>
    run(`deleting ${s.id}`, async () => {
      await request('DELETE', `/v1/sandboxes/${encodeURIComponent(s.id)}`);
      return `deleted ${s.id}`;
    });

  return (
    <>
      <h1>Sandboxes</h1>
      <Prewarm functions={fns.data?.functions ?? []} busy={busy} onPrewarm={prewarm} />
      {outcome && (
        <p class={outcome.ok ? 'outcome' : 'error'} role="status" data-testid="sandbox-outcome">
          {outcome.text}
        </p>
      )}
      <Guard loaded={list}>
        {(data) =>
          data.sandboxes.length === 0 ? (
            <p class="muted">No live sandboxes. Invoke a function or pre-warm one above.</p>
          ) : (
            <SandboxTable rows={data.sandboxes} busy={busy} onResize={resize} onMigrate={migrate} onDelete={remove} />
          )
        }
      </Guard>
      {list.data?.capacity && (
        <p class="muted">
          Host caps:{' '}
          {Object.entries(list.data.capacity)
            .map(([k, v]) => `${k} ${v}`)
            .join(' · ')}
        </p>
      )}
    </>
  );
}

function Prewarm(props: {
  functions: { name: string; config: { engine?: string; kind?: string } }[];
  busy: boolean;
  onPrewarm: (name: string) => void;
}) {
  const runnable = props.functions.filter((f) => f.config.kind !== 'sequence');
  const [name, setName] = useState('');
  const chosen = name || runnable[0]?.name || '';
  return (
    <form
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        if (chosen) props.onPrewarm(chosen);
      }}
    >
      <label>
        Function{' '}
        <select name="function" value={chosen} onChange={(e) => setName((e.target as HTMLSelectElement).value)}>
          {runnable.map((f) => (
            <option value={f.name}>
              {f.name} ({f.config.engine ?? 'process'})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={props.busy || !chosen}>
        Create (pre-warm)
      </button>
    </form>
  );
}

function SandboxTable(props: {
  rows: SandboxRow[];
  busy: boolean;
  onResize: (s: SandboxRow, memoryMb: number) => void;
  onMigrate: (s: SandboxRow) => void;
  onDelete: (s: SandboxRow) => void;
}) {
  const rows = [...props.rows].sort(
    (a, b) =>
      a.engine.localeCompare(b.engine) ||
      a.functionName.localeCompare(b.functionName) ||
      a.createdAt.localeCompare(b.createdAt),
  );
  return (
    <table class="sandboxes">
      <thead>
        <tr>
          <th>engine</th>
          <th>function</th>
          <th>sandbox</th>
          <th>state</th>
          <th class="num">memory</th>
          <th class="num">CPUs</th>
          <th>age</th>
          <th class="num">calls</th>
          <th>last used</th>
          <th>operations</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <SandboxLine key={s.id} s={s} {...props} />
        ))}
      </tbody>
    </table>
  );
}

function SandboxLine(props: {
  s: SandboxRow;
  busy: boolean;
  onResize: (s: SandboxRow, memoryMb: number) => void;
  onMigrate: (s: SandboxRow) => void;
  onDelete: (s: SandboxRow) => void;
}) {
  const { s, busy } = props;
  const [memory, setMemory] = useState(String(s.memoryMb * 2));
  return (
    <tr data-sandbox={s.id} data-engine={s.engine}>
      <td>{s.engine}</td>
      <td>
        <a href={`/functions/${encodeURIComponent(s.functionName)}`}>{s.functionName}</a> v{s.functionVersion}
      </td>
      <td class="mono">{s.id}</td>
      <td>
        <span class={`badge ${s.state === 'ready' ? 'ok' : s.state === 'dead' ? 'bad' : ''}`}>{s.state}</span>
        {s.inflight > 0 && <span class="muted"> {s.inflight} running</span>}
      </td>
      <td class="num" data-field="memory">
        {s.memoryMb} MB
      </td>
      <td class="num">{s.cpus}</td>
      <td>{ago(s.createdAt).replace(' ago', '')}</td>
      <td class="num" data-field="calls">
        {s.calls ?? '—'}
      </td>
      <td>{ago(s.lastUsed)}</td>
      <td class="ops">
        <input
          type="number"
          min={64}
          step={64}
          aria-label="memory MB"
          value={memory}
          onInput={(e) => setMemory((e.target as HTMLInputElement).value)}
        />
        <button disabled={busy} onClick={() => props.onResize(s, Number(memory))}>
          Resize
        </button>
        <button disabled={busy} onClick={() => props.onMigrate(s)}>
          Migrate
        </button>
        <button disabled={busy} onClick={() => props.onDelete(s)}>
          Delete
        </button>
      </td>
    </tr>
  );
}
