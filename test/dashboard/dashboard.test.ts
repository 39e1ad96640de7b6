// The web dashboard in a real browser (Debian's chromium through playwright-core)
// against a live embedded nimbus that requires an API key: the page loads
// without one and asks for it, lists the example functions, invokes one from
// the invoke form and shows the new activation and its logs; back and reload
// keep the page; the key is never in a URL; every page is saved as a
// screenshot in test-output/dashboard. Also the serving rules without a browser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { deployExamples } from '../../src/cli/examples.ts';
import { CSP } from '../../src/frontend/routes/dashboard.ts';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { chromiumMissing, launch, shot, watchProblems } from './browser.ts';

const KEY = 'dashboard-test-root-key-0123456789';
const missing = await chromiumMissing();

describe('the dashboard in a browser', { skip: missing }, () => {
  let t: TestPlatform;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  const urls: string[] = [];

  before(async () => {
    t = await startTestPlatform({ apiKey: KEY });
    const deployed = await deployExamples(t.platform);
    assert.ok(!deployed.some((l) => l.includes('failed')), `an example did not deploy: ${deployed.join('\n')}`);
    const auth = { authorization: `Bearer ${KEY}` };
    const made = [
      await t.request('PUT', '/v1/triggers/nightly', { type: 'cron', schedule: '0 3 * * *', function: 'hello' }, auth),
      await t.request('PUT', '/v1/functions/hello/aliases/live', { version: 1 }, auth),
      await t.request('POST', '/v1/namespaces', { name: 'team-a' }, auth),
      await t.request(
        'PUT',
        '/v1/functions/only-a',
        { runtime: 'nodejs', code: 'export const handler = async () => 1;' },
        { ...auth, 'x-nimbus-namespace': 'team-a' },
      ),
    ];
    for (const r of made) assert.ok(r.status < 300, r.text);
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    problems = watchProblems(page);
    page.on('request', (r) => urls.push(r.url()));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('asks for the key, then lists the functions', async () => {
    const answer = await page.goto(`${t.url}/`);
    assert.equal(answer?.status(), 200);
    assert.equal(answer?.headers()['content-security-policy'], CSP);
    await page.getByRole('heading', { name: 'API key needed' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/functions');
    await shot(page, 'key-prompt');
    await page.locator('input[name=key]').fill(KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    const hello = page.locator('tr[data-function=hello]');
    await hello.waitFor();
    assert.match(await hello.innerText(), /process[\s\S]*v1/);
    assert.equal(await page.locator('tr[data-function]').count(), 3);
    await shot(page, 'functions');
  });

  it('invokes an example from the invoke form and shows its result, activation and logs', async () => {
    await page.getByRole('link', { name: 'hello', exact: true }).click();
    await page.getByRole('heading', { name: 'hello', exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Config' }).waitFor();
    await page.locator('table.triggers').getByText('0 3 * * *').waitFor();
    assert.match(await page.locator('table.aliases').innerText(), /live\s+v1/);
    await page.locator('textarea[name=event]').fill('{"name": "browser"}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    const outcome = page.locator('.invoke-outcome');
    await outcome.getByText('Hello, browser!').waitFor();
    await outcome.getByText('hello invoked as hello v1').waitFor();
    assert.equal(await outcome.getAttribute('data-status'), '200');
    const id = (await outcome.locator('a.activation-link').innerText()).trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    // The new call is among the function's recent calls.
    await page.locator(`tr[data-activation="${id}"]`).waitFor();
    await shot(page, 'function');

    await outcome.locator('a.activation-link').click();
    await page.getByRole('heading', { name: id }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/activations/${id}`);
    await page.locator('.timing .run').waitFor();
    assert.match(await page.locator('pre.logs').innerText(), /hello invoked as hello v1/);
    assert.match(await page.locator('pre.json').innerText(), /Hello, browser!/);
    await shot(page, 'activation');

    // Back to the function's page, then a reload: the page and the key (sessionStorage) stay.
    await page.goBack();
    await page.getByRole('heading', { name: 'hello', exact: true }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/functions/hello');
    await page.reload();
    await page.getByRole('heading', { name: 'Config' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'API key needed' }).count(), 0);
  });

  it("shows a function's error and its stack", async () => {
    await page.goto(`${t.url}/functions/greeter-ts`);
    // ms() throws on NaN: the time since "yesterday" is not a number.
    await page.locator('textarea[name=event]').fill('{"since": "yesterday"}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    const outcome = page.locator('.invoke-outcome');
    await outcome.getByText('function_error').waitFor();
    assert.equal(await outcome.getAttribute('data-status'), '502');
    await outcome.locator('a.activation-link').click();
    await page.getByRole('heading', { name: 'Error' }).waitFor();
    assert.match(await page.locator('.badge', { hasText: 'error' }).first().innerText(), /error/);
    assert.match(await page.locator('pre.stack').innerText(), /at /);
    await shot(page, 'activation-error');
    // The console notes the 502 of the invoke: expected here, and nothing else.
    assert.ok(problems.length > 0 && problems.every((p) => /status of 502/.test(p)), problems.join('\n'));
    problems.splice(0);
  });

  it('lists and filters the activations', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Activations' }).click();
    await page.locator('tr[data-activation]').first().waitFor();
    assert.ok((await page.locator('tr[data-activation]').count()) >= 1);
    await shot(page, 'activations');
    await page.locator('select[name=status]').selectOption('error');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('tr[data-activation]').first().waitFor();
    assert.equal(new URL(page.url()).search, '?status=error');
    for (const row of await page.locator('tr[data-activation]').all())
      assert.match(await row.innerText(), /greeter-ts/);
    await page.locator('select[name=status]').selectOption('timeout');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No activations.').waitFor();
    await page.goBack();
    await page.goBack();
    await page.locator('tr[data-activation]').first().waitFor();
    await page.locator('select[name=start]').selectOption('cold');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('tr[data-activation]').first().waitFor();
    for (const row of await page.locator('tr[data-activation]').all()) assert.match(await row.innerText(), /cold/);
  });

  it("acts in the namespace the root key picks, and shows only that namespace's functions", async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Functions' }).click();
    // Each function's last call and error rate over its latest records (hello's call, greeter-ts's failure).
    await page.locator('tr[data-function=hello]').getByText('0% of 1').waitFor();
    await page.locator('tr[data-function=greeter-ts]').getByText('100% of 1').waitFor();
    assert.match(await page.locator('tr[data-function=hello]').innerText(), /s ago/);
    await shot(page, 'functions-called');
    await page.locator('input[name=namespace]').fill('team-a');
    await page.locator('input[name=namespace]').press('Enter');
    await page.locator('tr[data-function=only-a]').waitFor();
    assert.equal(await page.locator('tr[data-function]').count(), 1);
    await page.reload();
    await page.locator('tr[data-function=only-a]').waitFor();
    await page.locator('input[name=namespace]').fill('');
    await page.locator('input[name=namespace]').press('Enter');
    await page.locator('tr[data-function=hello]').waitFor();
    assert.equal(await page.locator('tr[data-function=only-a]').count(), 0);
  });

  it('never puts the key in a URL and breaks no rule of the CSP', () => {
    assert.deepEqual(
      urls.filter((u) => u.includes(KEY)),
      [],
    );
    assert.deepEqual(problems, []);
  });
});

describe('serving the dashboard', () => {
  let t: TestPlatform;
  before(async () => (t = await startTestPlatform({ apiKey: KEY })));
  after(() => t?.close());

  it('serves the page and its assets without a key, with the CSP, and nothing else', async () => {
    for (const p of ['/', '/functions', '/functions/hello', '/activations/abc', '/charts', '/cost']) {
      const r = await t.request('GET', p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(r.headers.get('content-security-policy'), CSP);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.match(r.text, /<script type="module" src="\/assets\/main.js">/);
    }
    const js = await t.request('GET', '/assets/main.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal((await t.request('GET', '/assets/main.css')).status, 200);
    // Only built files by plain name; everything else still needs the key.
    assert.equal((await t.request('GET', '/assets/nope.js')).status, 404);
    assert.equal((await t.request('GET', '/assets/..%2Fpackage.json')).status, 404);
    assert.equal((await t.request('GET', '/assets/.hidden.js')).status, 404);
    for (const p of ['/v1/functions', '/functions/a/b', '/somewhere', '/metrics']) {
      const r = await t.request('GET', p);
      assert.equal(r.status, 401, p);
    }
    assert.equal((await t.request('POST', '/functions')).status, 401);
  });

  it('is not on the function origin', async () => {
    assert.equal((await t.fnRequest('GET', '/')).status, 401);
    assert.equal((await t.fnRequest('GET', '/assets/main.js')).status, 401);
  });
});
