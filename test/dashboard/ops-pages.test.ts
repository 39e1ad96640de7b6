// The dashboard's sandboxes, engines, metrics and cost pages in a real browser
// (Debian's chromium through playwright-core, dashboard.test.ts's harness)
// against a live embedded nimbus that requires a key: pre-warm a container
// sandbox and resize it from the page and see its memory change; a migrate the
// container engine cannot do answers with the engine's reason; the engines page
// shows the accelerator and latency classes; the metrics page draws its charts;
// the cost page draws both series (pixels of each colour on the uPlot canvas).
// A screenshot of each page goes to test-output/dashboard.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.ts';
import { chromiumMissing, launch, shot, watchProblems } from './browser.ts';

const KEY = 'dashboard-ops-test-root-key-0123456789';
const missing = await chromiumMissing();
const CODE = 'exports.handler = async (e) => ({ ok: true, at: Date.now() });';
const auth = { authorization: `Bearer ${KEY}` };

/** How many pixels of the canvas are (nearly) this colour. */
async function pixelsOf(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  return page.locator(selector).evaluate((canvas: HTMLCanvasElement, [r, g, b]) => {
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4)
      if (Math.abs(data[i]! - r) < 12 && Math.abs(data[i + 1]! - g) < 12 && Math.abs(data[i + 2]! - b) < 12) n++;
    return n;
  }, rgb);
}

describe('the sandboxes, engines, metrics and cost pages in a browser', { skip: missing }, () => {
  let t: TestPlatform;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let container: { available: boolean; reason: string } | undefined;

  before(async () => {
    t = await startTestPlatform({ apiKey: KEY });
    container = (await t.request('GET', '/v1/engines', undefined, auth)).json.engines.container;
    const fast = await t.request(
      'PUT',
      '/v1/functions/fast',
      { runtime: 'nodejs', code: CODE, engine: 'isolate' },
      auth,
    );
    assert.equal(fast.status, 201, fast.text);
    for (let i = 0; i < 6; i++)
      assert.equal((await t.request('POST', '/v1/functions/fast/invoke', {}, auth)).status, 200);
    if (container?.available) {
      const boxed = { runtime: 'nodejs', code: CODE, engine: 'container', memoryMb: 256, minSandboxes: 0 };
      assert.equal((await t.request('PUT', '/v1/functions/boxed', boxed, auth)).status, 201);
    }
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    problems = watchProblems(page);
    await page.goto(`${t.url}/sandboxes`);
    await page.locator('input[name=key]').fill(KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Sandboxes' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('pre-warms a container sandbox, resizes it and sees its memory change', async (ctx) => {
    if (!container?.available) return ctx.skip(`container engine unavailable here: ${container?.reason}`);
    const outcome = page.getByTestId('sandbox-outcome');
    await page.locator('select[name=function]').selectOption('boxed');
    await page.getByRole('button', { name: 'Create (pre-warm)' }).click();
    await outcome.getByText(/started container sandbox \S+ for boxed v1 with 256 MB/).waitFor({ timeout: 60_000 });
    const row = page.locator('tr[data-engine=container]');
    await row.waitFor();
    assert.equal((await row.locator('[data-field=memory]').innerText()).trim(), '256 MB');
    assert.equal((await row.locator('[data-field=calls]').innerText()).trim(), '0', 'a pre-warm is not a call');
    await shot(page, 'sandboxes-prewarmed');

    await row.getByLabel('memory MB').fill('512');
    await row.getByRole('button', { name: 'Resize' }).click();
    await outcome.getByText(/resized \S+ from 256 MB to 512 MB/).waitFor({ timeout: 30_000 });
    await row.locator('[data-field=memory]').getByText('512 MB').waitFor();
    // The API agrees with the page.
    const listed = (await t.request('GET', '/v1/sandboxes', undefined, auth)).json.sandboxes;
    assert.deepEqual(
      listed.filter((s: { engine: string }) => s.engine === 'container').map((s: { memoryMb: number }) => s.memoryMb),
      [512],
    );

    // Containers cannot migrate: the page says why, from the engine.
    await row.getByRole('button', { name: 'Migrate' }).click();
    await page.locator('p.error', { hasText: /migrating \S+ failed: 409 not_supported: / }).waitFor();
    await shot(page, 'sandboxes');

    await row.getByRole('button', { name: 'Delete' }).click();
    await outcome.getByText(/^deleted /).waitFor();
    await page.locator('tr[data-engine=container]').waitFor({ state: 'detached' });
  });

  it('shows what the engines can do, the accelerator and the latency classes', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Engines' }).click();
    await page.getByRole('heading', { name: 'Engines' }).waitFor();
    await page.locator('tr[data-engine=isolate]').first().waitFor();
    assert.match(await page.getByTestId('accelerator').innerText(), /Accelerator: (KVM|TCG|none)/);
    const isolate = page.getByTestId('latency-table').locator('tr[data-engine=isolate]');
    await isolate.waitFor();
    // One cold call and at least five warm ones, each placed in a class.
    assert.match(await isolate.innerText(), /^isolate\s+1\s[\s\S]*(real-time|interactive|batch)\s+\d+\s/);
    assert.equal(
      await page.locator('.lane').count(),
      1 + (await page.getByTestId('latency-table').locator('tbody tr').count()),
      'a lane per engine under the class labels',
    );
    await shot(page, 'engines');
  });

  it('draws the metrics charts per engine', async () => {
    await page.goto(`${t.url}/charts`);
    await page.getByTestId('metrics-totals').locator('tr[data-engine=isolate]').waitFor();
    // The charts are made after the table renders (CI once counted none right after it): wait for the third.
    await page.locator('.plot canvas').nth(2).waitFor();
    assert.equal(await page.locator('.plot canvas').count(), 3);
    const legend = await page.locator('.plot').first().locator('.u-legend').innerText();
    assert.match(legend, /isolate/);
    assert.ok((await pixelsOf(page, '.plot >> nth=0 >> canvas', [16, 185, 129])) > 0, 'the isolate series is drawn');
    await shot(page, 'metrics');
  });

  it('draws both cost series, with the totals and the break-even', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Cost' }).click();
    await page.getByTestId('cost-totals').waitFor();
    assert.match(await page.getByTestId('cost-totals').innerText(), /calls\s+(\d+)/);
    assert.match(await page.getByTestId('cost-verdict').innerText(), /cheaper here/);
    const legend = await page.locator('.plot .u-legend').innerText();
    assert.match(legend, /serverless/);
    assert.match(legend, /always-on VMs/);
    const canvas = '.plot canvas';
    assert.ok((await pixelsOf(page, canvas, [37, 99, 235])) > 0, 'the serverless series is drawn');
    assert.ok((await pixelsOf(page, canvas, [180, 83, 9])) > 0, 'the VM series is drawn');
    // The bucket selector is in the URL: back returns to the previous choice.
    await page.locator('select[name=bucket]').selectOption('1m');
    await page.waitForURL(/bucket=1m/);
    await page.locator('.plot canvas').waitFor();
    await shot(page, 'cost');
    await page.goBack();
    assert.equal(new URL(page.url()).search, '');
    assert.equal(await page.locator('select[name=bucket]').inputValue(), '5m');
  });

  it('breaks no rule of the CSP and logs no error', () => {
    // The browser logs the refused migrate's 409 itself: that one was asked for.
    assert.deepEqual(
      problems.filter((p) => !/status of 409/.test(p)),
      [],
    );
  });
});
