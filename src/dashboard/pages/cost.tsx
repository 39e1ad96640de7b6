// The Cost page (owned by dash-b; a heading until it lands).
import type { PageProps } from '../router.ts';

export function CostPage(_props: PageProps) {
  return <h1>Cost</h1>;
}
