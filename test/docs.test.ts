// The docs stay true to the repository: every file or folder a Markdown page
// names in backticks or links to exists, the README's error table is the one
// src/frontend/http-errors.ts maps, its API table lists every route the front
// ends register, and no page or comment speaks of anything but the product.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { HTTP_STATUS } from '../src/frontend/http-errors.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SKIP_DIRS = new Set(['node_modules', '.git', '.nimbus', '.tools']);
/** Where nimbus keeps its state at run time (not in the repository), and what setup installs. */
const RUNTIME_ROOTS = new Set(['.nimbus', '.tools', 'node_modules']);
const FILE_EXTENSIONS = /\.(ts|md|json|sql|sh|mjs|cjs|js|conf)$/;
/** Codebases the docs cite as models: a path after one of these names, on the same line, is one of theirs. */
const CITED_PROJECTS = /\b(miniflare|Temporal|hono|bullmq)\b/;

function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : files(full, keep);
    return keep(entry.name) ? [full] : [];
  });
}

/**
 * The repository paths a Markdown page names: backticked words that hold a `/` or end in a source
 * extension, and link targets. Not paths: absolute paths (the sandbox's or the host's), CIDRs,
 * media types, bare extensions, placeholders (`<uid>/`, `…`), run-time state, and files of the
 * codebases cited as models.
 */
export function namedPaths(markdown: string): string[] {
  const named = new Set<string>();
  for (const line of markdown.split('\n')) {
    for (const match of line.matchAll(/`([^`\s]+)`/g)) {
      const word = match[1];
      if (!word || !/^[A-Za-z0-9_.][A-Za-z0-9_.\-/*]*$/.test(word) || /^\.\w+$/.test(word)) continue;
      if (!word.includes('/') && !FILE_EXTENSIONS.test(word)) continue;
      if (/^[\d.:a-f]+\/\d+$/.test(word) || /^(application|text|image|multipart)\//.test(word)) continue;
      if (CITED_PROJECTS.test(line.slice(0, match.index))) continue;
      named.add(word);
    }
    for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (target && !/^[a-z]+:|^#/.test(target)) named.add(target.split('#')[0] ?? target);
    }
  }
  return [...named].filter((p) => p !== '' && !RUNTIME_ROOTS.has(p.split('/')[0] ?? ''));
}

/** Whether a named path exists beside the page, at the repository's root, or under src/ (pages name `sandbox/driver.ts`). */
function exists(named: string, pageDir: string): boolean {
  const star = named.indexOf('*');
  const plain = star === -1 ? named : named.slice(0, named.lastIndexOf('/', star) + 1);
  return [pageDir, ROOT, path.join(ROOT, 'src')].some((base) => existsSync(path.join(base, plain)));
}

export function missingPaths(root: string): string[] {
  return files(root, (name) => name.endsWith('.md')).flatMap((page) =>
    namedPaths(readFileSync(page, 'utf8'))
      .filter((named) => !exists(named, path.dirname(page)))
      .map((named) => `${path.relative(root, page)}: \`${named}\``),
  );
}

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('docs', () => {
  it('name only files and folders the repository has', () => {
    assert.deepEqual(missingPaths(ROOT), []);
  });

  it('the path check finds a path that does not exist, and ignores what is not a repository path', () => {
    const named = namedPaths(
      'see `seeds/`, `src/engine/pool.ts`, `127.0.0.0/8`, `application/json`, `/etc/shadow`, `.nimbus/api-key`, `<uid>/`, `.sql`, [x](docs/none.md), [y](https://example.com)\n' +
        'as bullmq does (`src/postgres/migrations/`)',
    );
    assert.deepEqual(named, ['seeds/', 'src/engine/pool.ts', 'docs/none.md']);
    assert.equal(exists('seeds/', ROOT), false);
    assert.equal(exists('docs/none.md', ROOT), false);
    assert.equal(exists('src/engine/pool.ts', ROOT), true);
    assert.equal(exists('test/hostile/*.test.ts', ROOT), true);
  });

  it("README's error table is the mapping in src/frontend/http-errors.ts", () => {
    const rows = [...README.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => [
      code,
      Number(status),
    ]);
    assert.deepEqual(Object.fromEntries(rows), HTTP_STATUS);
  });

  it("README's API table names every route the front ends register", () => {
    const sources = files(path.join(ROOT, 'src/frontend'), (name) => name.endsWith('.ts'));
    const routes = new Set<string>();
    for (const file of sources) {
      for (const [, method, url] of readFileSync(file, 'utf8').matchAll(
        /app\.(get|put|post|patch|delete|all)(?:<[^>]*>)?\('([^']+)'/g,
      )) {
        routes.add(`${method === 'all' ? 'ANY' : method!.toUpperCase()} ${url}`);
      }
    }
    assert.ok(routes.size >= 15, `found only ${routes.size} routes: has the way routes are registered changed?`);
    const table = README.slice(README.indexOf('## The HTTP API'), README.indexOf('## Layout'));
    const missing = [...routes].filter((route) => !table.includes(`\`${route}\``));
    assert.deepEqual(missing, [], 'routes missing from the README API table (write each as `METHOD /path`)');
  });

  it('speak of the product, not of a lecture', () => {
    const texts = [
      ...['src', 'test', 'bench', 'deploy', 'examples', 'docs', 'scripts'].flatMap((dir) =>
        files(path.join(ROOT, dir), () => true),
      ),
      path.join(ROOT, 'README.md'),
      path.join(ROOT, 'SECURITY.md'),
    ];
    const self = fileURLToPath(import.meta.url);
    const found = texts
      .filter((file) => file !== self && /\blecture/i.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    assert.deepEqual(found, []);
  });
});
