// Launching Debian's chromium headless for the dashboard's tests (installed by
// scripts/setup.sh), and where their screenshots go (test-output/dashboard).
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.NIMBUS_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = path.resolve(import.meta.dirname, '../../test-output/dashboard');

/** Why the browser tests cannot run here, or undefined when chromium is installed. */
export async function chromiumMissing(): Promise<string | undefined> {
  try {
    await access(CHROMIUM);
    return undefined;
  } catch {
    return `chromium is not installed at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium as root)`;
  }
}

export async function launch(): Promise<Browser> {
  await mkdir(SHOTS, { recursive: true });
  // --no-sandbox: chromium's own sandbox needs user namespaces that a root test run or a container may lack.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Collects what the page reports as broken: console errors (a CSP refusal among them) and uncaught exceptions. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    // A 401 before the key is given is the dashboard's way to learn that one is needed.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}
