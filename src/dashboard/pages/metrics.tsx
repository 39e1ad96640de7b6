// The Metrics page (owned by dash-b; a heading until it lands).
import type { PageProps } from '../router.ts';

export function MetricsPage(_props: PageProps) {
  return <h1>Metrics</h1>;
}
