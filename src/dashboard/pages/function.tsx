// A function's page: its config, versions and aliases, the triggers that call
// it (GET /v1/triggers, filtered here), its recent calls, and the invoke form.
import { query } from '../api.ts';
import type { PageProps } from '../router.ts';
import type { Activation, AliasInfo, FunctionInfo, TriggerInfo, VersionInfo } from '../types.ts';
import { useState } from 'preact/hooks';
import { ago, ErrorBox, Guard, useApi } from '../ui.tsx';
import { ActivationRows } from './activations.tsx';
import { InvokeForm } from './invoke.tsx';

export function FunctionPage({ params }: PageProps) {
  const name = params.name!;
  const path = `/v1/functions/${encodeURIComponent(name)}`;
  const fn = useApi<FunctionInfo>(path);
  // A new call redraws the recent calls.
  const [calls, setCalls] = useState(0);
  return (
    <>
      <p class="muted">
        <a href="/functions">Functions</a> /
      </p>
      <h1>{name}</h1>
      <Guard loaded={fn}>
        {(f) => (
          <>
            <div class="grid2">
              <Config fn={f} />
              <InvokeForm name={name} onDone={() => setCalls((n) => n + 1)} />
            </div>
            <Versions path={path} />
            <Triggers name={name} />
            <Recent key={calls} name={name} />
          </>
        )}
      </Guard>
    </>
  );
}

function Config({ fn }: { fn: FunctionInfo }) {
  const { env, ...rest } = fn.config as Record<string, unknown> & { env?: Record<string, string> };
  return (
    <section class="card config">
      <h2>Config</h2>
      <dl class="config">
        <dt>version</dt>
        <dd>v{fn.version}</dd>
        {Object.entries(rest).map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd class="mono">{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
          </>
        ))}
        <dt>env</dt>
        <dd class="mono">{env && Object.keys(env).length ? Object.keys(env).join(', ') : '—'}</dd>
        <dt>artifact</dt>
        <dd class="mono">{fn.artifact ? `${fn.artifact.sha256.slice(0, 12)}… (${fn.artifact.bytes} bytes)` : '—'}</dd>
        <dt>deployed</dt>
        <dd>{ago(fn.createdAt)}</dd>
      </dl>
    </section>
  );
}

function Versions({ path }: { path: string }) {
  const versions = useApi<{ versions: VersionInfo[] }>(`${path}/versions`);
  const aliases = useApi<{ aliases: AliasInfo[] }>(`${path}/aliases`);
  return (
    <div class="grid2">
      <section>
        <h2>Versions</h2>
        <Guard loaded={versions}>
          {({ versions: list }) => (
            <table class="versions">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Engine</th>
                  <th>Aliases</th>
                  <th>Deployed</th>
                </tr>
              </thead>
              <tbody>
                {list.map((v) => (
                  <tr>
                    <td>
                      v{v.version} {v.current ? <span class="badge ok">current</span> : null}
                    </td>
                    <td>{String(v.config.engine ?? '—')}</td>
                    <td>{v.aliases.join(', ') || '—'}</td>
                    <td>{ago(v.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Guard>
      </section>
      <section>
        <h2>Aliases</h2>
        <Guard loaded={aliases}>
          {({ aliases: list }) =>
            list.length === 0 ? (
              <p class="muted">No aliases.</p>
            ) : (
              <table class="aliases">
                <tbody>
                  {list.map((a) => (
                    <tr>
                      <td>{a.alias}</td>
                      <td>v{a.version}</td>
                      <td class="muted">
                        {a.weights && Object.keys(a.weights).length ? `canary ${JSON.stringify(a.weights)}` : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Guard>
      </section>
    </div>
  );
}

function Triggers({ name }: { name: string }) {
  const triggers = useApi<{ triggers: TriggerInfo[] }>('/v1/triggers');
  const mine = triggers.data?.triggers.filter((t) => t.function === name);
  return (
    <section>
      <h2>Triggers</h2>
      <ErrorBox error={triggers.error} />
      {mine === undefined ? null : mine.length === 0 ? (
        <p class="muted">No triggers call this function.</p>
      ) : (
        <table class="triggers">
          <tbody>
            {mine.map((t) => (
              <tr>
                <td>{t.name}</td>
                <td>{t.type}</td>
                <td class="mono">
                  {t.type === 'cron' ? `${t.schedule}${t.timezone ? ` (${t.timezone})` : ''}` : t.topic}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Recent({ name }: { name: string }) {
  const recent = useApi<{ activations: Activation[] }>(`/v1/activations${query({ function: name, limit: 10 })}`);
  return (
    <section>
      <h2>
        Recent calls <a href={`/activations${query({ function: name })}`}>(all)</a>
      </h2>
      <Guard loaded={recent}>{({ activations }) => <ActivationRows activations={activations} />}</Guard>
    </section>
  );
}
