// The frame of every page: the navigation, the namespace picker, and the key
// prompt the dashboard shows when the server answers 401.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { session } from './api.ts';

const NAV: [string, string][] = [
  ['/functions', 'Functions'],
  ['/activations', 'Activations'],
  ['/sandboxes', 'Sandboxes'],
  ['/engines', 'Engines'],
  ['/charts', 'Metrics'],
  ['/cost', 'Cost'],
];

export function Layout({ path, children }: { path: string; children: ComponentChildren }) {
  return (
    <>
      <header class="top">
        <a class="brand" href="/functions">
          nimbus
        </a>
        <nav>
          {NAV.map(([href, label]) => (
            <a href={href} class={path === href || path.startsWith(`${href}/`) ? 'active' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <Session />
      </header>
      {session.keyWanted ? <KeyPrompt /> : <main>{children}</main>}
    </>
  );
}

/** The namespace the requests act in (root keys may pick any), and a way to forget the key. */
function Session() {
  const [namespace, setNamespace] = useState(session.namespace);
  return (
    <form
      class="session"
      onSubmit={(e) => {
        e.preventDefault();
        session.setNamespace(namespace);
      }}
    >
      <label>
        namespace{' '}
        <input
          name="namespace"
          value={namespace}
          placeholder="the key's"
          size={12}
          onInput={(e) => setNamespace(e.currentTarget.value)}
        />
      </label>
      {session.key ? (
        <button type="button" class="link" onClick={() => session.setKey('')}>
          forget key
        </button>
      ) : null}
    </form>
  );
}

function KeyPrompt() {
  const [key, setKey] = useState('');
  return (
    <main>
      <form
        class="card key-prompt"
        onSubmit={(e) => {
          e.preventDefault();
          session.setKey(key);
        }}
      >
        <h1>API key needed</h1>
        <p>
          This nimbus requires an API key: a namespace key from <code>POST /v1/keys</code> or{' '}
          <code>nimbus keys create</code>, or the root key in the data directory's <code>api-key</code> file. It is kept
          in this tab's session storage only and sent as <code>Authorization: Bearer</code>.
        </p>
        {session.key ? <p class="error">The key you gave was refused; give another.</p> : null}
        <input
          type="password"
          autoFocus
          name="key"
          autocomplete="off"
          placeholder="nmb_…"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <button type="submit">Use this key</button>
      </form>
    </main>
  );
}
