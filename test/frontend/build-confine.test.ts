// The confine plugin with the real esbuild, in this process, on real
// directories: links out of the upload (a file, a node_modules package, a
// tsconfig path), absolute and "../" imports are compile errors that name the
// import; links that stay inside, packages in the upload and Node built-ins
// build; messages about files outside the upload are withheld whole.
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { build, type BuildFailure, type Message } from 'esbuild';
import { confineToUpload } from '../../src/frontend/build/worker/confine.ts';
import { formatMessages } from '../../src/frontend/build/worker/messages.ts';
import { createTempDir } from '../helpers/temp.ts';

const outside = await createTempDir('nimbus-confine-outside');
const SECRET = 'zz-outside-content-7f3a';
await writeFile(path.join(outside, 'secret.js'), `module.exports = ${JSON.stringify(SECRET)};`);
await mkdir(path.join(outside, 'pkg'));
await writeFile(path.join(outside, 'pkg', 'index.js'), `module.exports = ${JSON.stringify(SECRET)};`);

/** A fresh upload with these files (a string is content, a {link} a symbolic link). */
async function upload(files: Record<string, string | { link: string }>): Promise<string> {
  const root = await createTempDir('nimbus-confine-upload');
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(root, name);
    await mkdir(path.dirname(p), { recursive: true });
    if (typeof content === 'string') await writeFile(p, content);
    else await symlink(content.link, p);
  }
  return root;
}

async function bundle(root: string): Promise<{ code?: string; errors?: string }> {
  try {
    const r = await build({
      entryPoints: [path.join(root, 'index.js')],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      write: false,
      logLevel: 'silent',
      plugins: [confineToUpload(root)],
    });
    return { code: r.outputFiles[0]?.text ?? '' };
  } catch (e) {
    return { errors: formatMessages((e as BuildFailure).errors, root) };
  }
}

describe('the confine plugin', () => {
  it('refuses a symbolic link to a file outside the upload', async () => {
    const root = await upload({
      'index.js': `module.exports = require('./link.js');`,
      'link.js': { link: path.join(outside, 'secret.js') },
    });
    const r = await bundle(root);
    assert.match(
      r.errors ?? '',
      /import "\.\/link\.js" resolves to a file outside the upload: only files inside the upload can be imported/,
    );
    assert.ok(!(r.errors ?? '').includes(SECRET));
  });

  it('refuses a node_modules package that links outside the upload', async () => {
    const root = await upload({
      'index.js': `module.exports = require('pkg');`,
      'node_modules/pkg': { link: path.join(outside, 'pkg') },
    });
    assert.match((await bundle(root)).errors ?? '', /import "pkg" resolves to a file outside the upload/);
  });

  it('refuses a tsconfig path that maps outside the upload', async () => {
    const root = await upload({
      'index.js': `module.exports = require('@out/secret.js');`,
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          baseUrl: '.',
          paths: { '@out/*': [`${path.relative('/', outside).replace(/^/, '../'.repeat(12))}/*`] },
        },
      }),
    });
    assert.match((await bundle(root)).errors ?? '', /import "@out\/secret\.js" resolves to a file outside the upload/);
  });

  it('refuses absolute and "../" imports before resolving them', async () => {
    const root = await upload({ 'index.js': `require('/etc/hostname'); require('../x.js');` });
    const errors = (await bundle(root)).errors ?? '';
    assert.match(errors, /import "\/etc\/hostname" points outside the upload/);
    assert.match(errors, /import "\.\.\/x\.js" points outside the upload/);
  });

  it('builds links that stay inside, packages in the upload and Node built-ins', async () => {
    const root = await upload({
      'index.js': `const fs = require('fs'); const p = require('node:path'); module.exports = [require('./alias.js'), require('dep'), typeof fs.readFileSync, p.sep];`,
      'real.js': `module.exports = 'inside';`,
      'alias.js': { link: './real.js' },
      'node_modules/dep/index.js': `module.exports = 'dep';`,
    });
    const r = await bundle(root);
    assert.equal(r.errors, undefined);
    assert.match(r.code ?? '', /'inside'|"inside"/);
    assert.match(r.code ?? '', /require\("fs"\)/);
  });

  it('keeps an optional require() of a missing package inside try a warning, as esbuild does', async () => {
    const root = await upload({
      'index.js': `let m; try { m = require('not-installed'); } catch {} module.exports = m;`,
    });
    assert.equal((await bundle(root)).errors, undefined);
  });
});

describe('compile error messages', () => {
  const at = (file: string, text: string): Message => ({
    id: '',
    pluginName: '',
    text,
    location: {
      file,
      namespace: 'file',
      line: 1,
      column: 2,
      length: 1,
      lineText: 'root:$y$j9T$secret',
      suggestion: '',
    },
    notes: [],
    detail: undefined,
  });

  it('name the file and line inside the upload, and withhold whatever concerns a file outside it', () => {
    const text = formatMessages(
      [at('index.js', 'Unexpected ";"'), at('../../etc/shadow', 'Expected ";" but found "$y$j9T$secret"')],
      '/workspace/upload',
    );
    assert.match(text, /^index\.js:1:2: Unexpected ";"$/m);
    assert.ok(!text.includes('secret') && !text.includes('shadow'), text);
    assert.match(text, /an error in a file outside the upload \(withheld/);
  });
});
