// What the platform and a build worker say to each other over the worker's
// stdin and stdout: the worker says READY once esbuild runs, gets one request
// as JSON, and answers one header line of JSON followed by the artifact's
// bytes. Shared by both sides, so it imports nothing.

export const READY = 'nimbus-build-worker-ready';

export type Language = 'javascript' | 'typescript';

export type BuildRequest =
  | { kind: 'source'; source: string; language?: Language }
  /** entry: the entry file's path relative to the upload root. */
  | { kind: 'entry'; entry: string };

export type BuildHeader =
  | { ok: true; language: Language; exports: string[]; bytes: number }
  /** crashed: esbuild itself died (its service stopped), as opposed to a compile error in the code. */
  | { ok: false; message: string; crashed?: boolean };
