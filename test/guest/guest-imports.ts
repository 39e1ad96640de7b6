// The rule that keeps guest code apart from the host, checked with esbuild's
// metafile (the imports esbuild itself resolves, static, require() and
// import() alike; type-only imports carry no code and are not counted):
// files in the guest folder import only each other, the Node built-ins the
// guest processes use inside their sandboxes, and a few vetted packages. The
// isolate runtime (what isolate-runtime.guest.ts reaches) runs in a bare V8
// context and may import no built-in at all.
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Built-ins the Node agent (process, container and microVM sandboxes) and the isolate pool (itself
 * under bubblewrap) use inside their sandboxes, and why. Anything else (http, worker_threads, vm, ...)
 * is a new capability for guest code and needs a decision, not an import.
 */
export const SANDBOX_BUILTINS: Record<string, string> = {
  'node:module': 'agent: createRequire, to load the function with its own require',
  'node:async_hooks': 'agent: AsyncLocalStorage, to tie logs and errors to an activation',
  'node:net': "channel: the agent's control channel socket",
  'node:fs':
    'channel, prepare: fd 3 and the microVM serial port; files written into a restored microVM; pool: reads its runtime bundle',
  'node:stream': 'channel: Duplex around the control channel',
  'node:child_process': 'prepare: sets the clock of a restored microVM (GNU date)',
  'node:path': 'prepare: directories of the files it writes',
  'node:crypto': "pool: randomBytes behind the isolates' crypto.getRandomValues",
};

/** Packages guest code may import: vetted, bundled into the guest (or, for isolated-vm, loaded inside the pool's sandbox). */
export const GUEST_PACKAGES: Record<string, { runtime: boolean; why: string }> = {
  zod: { runtime: false, why: 'validates the messages of both guest protocols' },
  'isolated-vm': { runtime: false, why: "the isolate pool's V8 isolates (a native addon, left external)" },
  'core-js-pure': { runtime: true, why: "the isolate runtime's URL and URLSearchParams (no Node or browser API)" },
};

/** Files allowed a require() of a computed name (which no tool can check), and what it loads. */
export const COMPUTED_REQUIRES: Record<string, string> = {
  'isolate-pool.guest.ts': "isolated-vm, from where the pool's sandbox mounts it (NIMBUS_IVM_PATH)",
};

export const RUNTIME_ENTRY = 'isolate-runtime.guest.ts';

const packageName = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
const builtin = (spec: string) =>
  spec.startsWith('node:') ? spec : builtinModules.includes(spec.split('/')[0] ?? '') ? `node:${spec}` : undefined;

/** Every way a guest file in `guestDir` breaks the rule, one sentence each; [] when none does. */
export async function guestImportViolations(guestDir: string): Promise<string[]> {
  const dir = path.resolve(guestDir);
  const entries = (await readdir(dir)).filter((n) => n.endsWith('.guest.ts')).map((n) => path.join(dir, n));
  let result;
  try {
    result = await build({
      entryPoints: entries,
      absWorkingDir: dir,
      outdir: path.join(dir, '.imports-check'),
      write: false,
      bundle: true,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string } | null }[] }).errors ?? [
      { text: String(e) },
    ];
    return errors.map((err) => `${err.location?.file ?? '?'}: ${err.text}`);
  }
  const { inputs, outputs } = result.metafile;
  const runtimeOut = Object.values(outputs).find((o) => o.entryPoint && path.basename(o.entryPoint) === RUNTIME_ENTRY);
  const runtimeFiles = new Set(Object.keys(runtimeOut?.inputs ?? {}));
  const problems: string[] = [];
  for (const [file, input] of Object.entries(inputs)) {
    const inRuntime = runtimeFiles.has(file);
    const where = path.resolve(dir, file);
    if (path.dirname(where) !== dir) continue; // reported where it is imported
    for (const imp of input.imports) {
      const spec = imp.original ?? imp.path;
      if (imp.path === '<runtime>') {
        // esbuild's own helpers; with ESM output, what needs them here is a require() of a computed name.
        if (inRuntime || !(file in COMPUTED_REQUIRES))
          problems.push(
            `${file} requires a computed name (esbuild needs its runtime helper): name the module, so that this check can see it`,
          );
        continue;
      }
      if (!imp.external) {
        const target = path.resolve(dir, imp.path);
        if (path.dirname(target) !== dir)
          problems.push(`${file} imports ${spec}: host code outside the guest folder (${path.relative(dir, target)})`);
        continue;
      }
      const core = builtin(imp.path);
      if (core) {
        if (inRuntime)
          problems.push(
            `${file} imports ${spec}: the isolate runtime runs in a bare V8 context and may import no Node built-in`,
          );
        else if (!(core in SANDBOX_BUILTINS))
          problems.push(
            `${file} imports ${spec}: not a built-in guest code uses inside its sandbox (${Object.keys(SANDBOX_BUILTINS).join(', ')})`,
          );
        continue;
      }
      const allowed = GUEST_PACKAGES[packageName(imp.path)];
      if (!allowed)
        problems.push(
          `${file} imports ${spec}: a package guest code may not use (allowed: ${Object.keys(GUEST_PACKAGES).join(', ')})`,
        );
      else if (inRuntime && !allowed.runtime)
        problems.push(`${file} imports ${spec}: a package the isolate runtime may not use`);
    }
  }
  return problems.sort();
}
