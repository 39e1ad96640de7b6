// The dashboard's entry: picks the page for the current path (router.ts) and
// draws it in the layout, again on every navigation and session change.
import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { session } from './api.ts';
import { Layout } from './layout.tsx';
import { match, navigate, onLinkClick, useLocation, type PageProps } from './router.ts';
import { ActivationPage } from './pages/activation.tsx';
import { ActivationsPage } from './pages/activations.tsx';
import { CostPage } from './pages/cost.tsx';
import { EnginesPage } from './pages/engines.tsx';
import { FunctionPage } from './pages/function.tsx';
import { FunctionsPage } from './pages/functions.tsx';
import { MetricsPage } from './pages/metrics.tsx';
import { SandboxesPage } from './pages/sandboxes.tsx';

/** The pages by path; src/frontend/routes/dashboard.ts serves index.html on the same paths. */
const ROUTES: [string, (p: PageProps) => JSX.Element][] = [
  ['/functions', FunctionsPage],
  ['/functions/:name', FunctionPage],
  ['/activations', ActivationsPage],
  ['/activations/:id', ActivationPage],
  ['/sandboxes', SandboxesPage],
  ['/engines', EnginesPage],
  ['/charts', MetricsPage],
  ['/cost', CostPage],
];

function App() {
  const { path, search } = useLocation();
  const [, setRound] = useState(0);
  useEffect(() => session.subscribe(() => setRound((n) => n + 1)), []);
  useEffect(() => {
    if (path === '/') navigate('/functions', true);
  }, [path]);
  for (const [pattern, Page] of ROUTES) {
    const params = match(pattern, path);
    if (params)
      return (
        <Layout path={path}>
          <Page key={`${path}?${search}`} params={params} search={search} />
        </Layout>
      );
  }
  return (
    <Layout path={path}>
      <h1>Not found</h1>
      <p>
        No page at {path}; see <a href="/functions">Functions</a>.
      </p>
    </Layout>
  );
}

document.addEventListener('click', onLinkClick);
render(<App />, document.getElementById('app')!);
