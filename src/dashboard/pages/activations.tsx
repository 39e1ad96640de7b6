// The Activations page.
import type { PageProps } from '../router.ts';

export function ActivationsPage(_props: PageProps) {
  return <h1>Activations</h1>;
}
