// The dashboard on a cluster front end (a real `nimbus serve --bus --store`
// process, its calls run by an invoker process): the page loads from the front
// end, lists a function and invokes it from the form, and the answer's
// activation and logs come back through NATS and PostgreSQL.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { EXAMPLES_DIR } from '../../src/cli/examples.ts';
import { CSP } from '../../src/frontend/routes/dashboard.ts';
import { startCluster } from '../cluster/cluster.ts';
import { deploy } from '../cluster/http.ts';
import { sharedBusUrl } from '../cluster/shared-nats.ts';
import { createTestDatabase } from '../storage/pg-database.ts';
import { chromiumMissing, launch, shot, watchProblems } from './browser.ts';

const missing = await chromiumMissing();

describe('the dashboard on a cluster front end', { skip: missing }, async () => {
  const c = startCluster(sharedBusUrl(), await createTestDatabase());
  let url: string;
  let browser: Browser;
  before(async () => {
    await c.startInvoker('inv-dash');
    url = (await c.startFrontEnd()).url;
    const code = await readFile(path.join(EXAMPLES_DIR, 'hello.js'), 'utf8');
    assert.equal((await deploy(url, 'hello', code)).status, 201);
    browser = await launch();
  });
  after(() => browser?.close());

  it('loads, lists the function and invokes it from the form', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = watchProblems(page);
    const answer = await page.goto(`${url}/functions`);
    assert.equal(answer?.headers()['content-security-policy'], CSP);
    await page.locator('tr[data-function=hello]').waitFor();
    await page.goto(`${url}/functions/hello`);
    await page.locator('textarea[name=event]').fill('{"name": "cluster"}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    const outcome = page.locator('.invoke-outcome');
    await outcome.getByText('Hello, cluster!').waitFor({ timeout: 30_000 });
    await outcome.getByText('hello invoked as hello v1').waitFor({ timeout: 30_000 });
    await shot(page, 'cluster-function');
    assert.deepEqual(problems, []);
  });
});
