// The Function page.
import type { PageProps } from '../router.ts';

export function FunctionPage(_props: PageProps) {
  return <h1>Function</h1>;
}
