// Turns esbuild's messages into the text of a compile error: file:line:col and
// the message, five at most. A message about a file outside the upload (which
// the confine plugin should never let esbuild read) is withheld whole, so a
// compile error can never quote a host file. Runs inside the build sandbox.
import type { Message } from 'esbuild';
import path from 'node:path';
import { isInside } from './confine.ts';

const WITHHELD = 'an error in a file outside the upload (withheld; only files inside the upload can be imported)';

export function formatMessages(errors: Message[], root: string): string {
  return errors
    .slice(0, 5)
    .map((m) => {
      if (!m.location) return m.text;
      const file = path.resolve(root, m.location.file);
      if (!isInside(root, file)) return WITHHELD;
      return `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}`;
    })
    .join('\n');
}
