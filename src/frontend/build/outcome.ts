// Reads what a build worker left into a Bundle, or into the compile_error the
// deploy gets: the code's own errors as esbuild reported them, or why the code
// could not be built at all (too deeply nested for the bundler, over the time
// or memory limit, a bundle too large). Never a 500, and never the worker's
// stderr: it is only searched for the reason.
import { createHash } from 'node:crypto';
import { NimbusError } from '../../shared/errors.ts';
import type { WorkerOutcome } from './build-worker.ts';
import type { BuildHeader, Language } from './worker/protocol.ts';

export interface Bundle {
  code: Buffer;
  sha256: string;
  language: Language;
  /** ESM export names of the entry, when known. */
  exports: string[];
}

export interface BuildLimits {
  timeoutMs: number;
  memoryMb: number;
  maxOutputBytes: number;
}

const cannotBuild = (why: string) =>
  new NimbusError('compile_error', `the code could not be built: ${why}; nothing was deployed`);

function header(stdout: Buffer): { header: BuildHeader; body: Buffer } | undefined {
  const nl = stdout.indexOf(0x0a);
  if (nl < 0) return undefined;
  try {
    return {
      header: JSON.parse(stdout.subarray(0, nl).toString('utf8')) as BuildHeader,
      body: stdout.subarray(nl + 1),
    };
  } catch {
    return undefined;
  }
}

function failureReason(o: WorkerOutcome, limits: BuildLimits): string {
  if (o.timedOut) return `the build took longer than ${limits.timeoutMs / 1000} s, the limit for a build`;
  if (o.outputTooLarge) return `the bundle is larger than ${Math.round(limits.maxOutputBytes / (1024 * 1024))} MB`;
  if (o.overMemory || /heap out of memory|Reached heap limit/.test(o.stderr))
    return `the build needed more than ${limits.memoryMb} MB of memory, the limit for a build`;
  if (/stack overflow|goroutine stack exceeds/.test(o.stderr))
    return 'it is nested too deeply for the bundler (esbuild ran out of stack); split deeply nested expressions into smaller ones';
  const how = o.signal ? `signal ${o.signal}` : `exit code ${o.code}`;
  return `the bundler stopped unexpectedly (${how})`;
}

export function readOutcome(o: WorkerOutcome, limits: BuildLimits): Bundle {
  const parsed = o.timedOut || o.outputTooLarge ? undefined : header(o.stdout);
  if (parsed?.header.ok === true && parsed.body.length === parsed.header.bytes) {
    const code = parsed.body;
    return {
      code,
      exports: parsed.header.exports,
      language: parsed.header.language,
      sha256: createHash('sha256').update(code).digest('hex'),
    };
  }
  if (parsed?.header.ok === false && !parsed.header.crashed)
    throw new NimbusError('compile_error', parsed.header.message);
  throw cannotBuild(failureReason(o, limits));
}
