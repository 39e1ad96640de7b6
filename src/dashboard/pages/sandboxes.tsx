// The Sandboxes page (owned by dash-b; a heading until it lands).
import type { PageProps } from '../router.ts';

export function SandboxesPage(_props: PageProps) {
  return <h1>Sandboxes</h1>;
}
