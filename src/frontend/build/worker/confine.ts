// The esbuild plugin that keeps a deploy's build inside its upload: every
// import must resolve (symlinks followed) to a file under the upload root,
// except Node's built-in modules, which stay external as the runtime provides
// them. Absolute paths, "../" escapes and links out get a compile error that
// names the import, never the content of what it pointed at. Runs inside the
// build sandbox (Node strips the types), so it imports nothing from the host.
import type { OnResolveArgs, OnResolveResult, Plugin, PluginBuild } from 'esbuild';
import { realpathSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';

/** Marks the plugin's own nested resolve, so that it is not checked twice. */
const NESTED = Symbol('nimbus-confine');

export function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function refuse(args: OnResolveArgs, why: string): OnResolveResult {
  return {
    errors: [
      {
        text: `import "${args.path}" ${why}: only files inside the upload can be imported (use a relative path such as "./lib.js", or put the package in the upload's node_modules)`,
      },
    ],
  };
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/** Roots: the upload as named and as its real path (they differ where a parent is a link). */
async function resolveInside(
  build: PluginBuild,
  roots: string[],
  args: OnResolveArgs,
): Promise<OnResolveResult | undefined> {
  if (args.pluginData === NESTED) return undefined;
  if (args.kind !== 'entry-point' && isBuiltin(args.path)) return undefined;
  const inside = (p: string) => roots.some((root) => isInside(root, p));
  if (path.isAbsolute(args.path) || args.path.startsWith('.')) {
    if (!inside(path.resolve(args.resolveDir || (roots[0] as string), args.path)))
      return refuse(args, 'points outside the upload');
  }
  const r = await build.resolve(args.path, {
    kind: args.kind,
    importer: args.importer,
    namespace: args.namespace,
    resolveDir: args.resolveDir,
    with: args.with,
    pluginData: NESTED,
  });
  // Nothing found: esbuild resolves it once more and says so itself, as a
  // warning for an optional require() inside try (no file gets read either way).
  if (r.errors.length > 0) return undefined;
  if (r.external || r.namespace !== 'file')
    return {
      path: r.path,
      external: r.external,
      namespace: r.namespace,
      sideEffects: r.sideEffects,
      suffix: r.suffix,
      pluginData: r.pluginData,
    };
  const real = realpathOrUndefined(r.path);
  if (!real || !inside(real)) return refuse(args, 'resolves to a file outside the upload');
  return { path: r.path, namespace: 'file', sideEffects: r.sideEffects, suffix: r.suffix, pluginData: r.pluginData };
}

/** The plugin for a build whose upload lives at root (an absolute path). */
export function confineToUpload(root: string): Plugin {
  const named = path.resolve(root);
  const roots = [named, realpathOrUndefined(named) ?? named];
  return {
    name: 'nimbus-confine-to-upload',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => resolveInside(build, roots, args));
    },
  };
}
