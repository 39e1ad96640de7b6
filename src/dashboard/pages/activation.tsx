// The Activation page.
import type { PageProps } from '../router.ts';

export function ActivationPage(_props: PageProps) {
  return <h1>Activation</h1>;
}
