// The Engines page (owned by dash-b; a heading until it lands).
import type { PageProps } from '../router.ts';

export function EnginesPage(_props: PageProps) {
  return <h1>Engines</h1>;
}
