// The Functions page.
import type { PageProps } from '../router.ts';

export function FunctionsPage(_props: PageProps) {
  return <h1>Functions</h1>;
}
