import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/*
 * Debian's chromium driven by playwright-core (no browser download): the pages' browser tests
 * (report.html, the live dashboard). Without /usr/bin/chromium this fails with the package to
 * install (CI installs it) unless SHARDLAB_SKIP_BROWSER=1, which the tests check.
 */

export const CHROMIUM = '/usr/bin/chromium';
export const SKIP_BROWSER = process.env['SHARDLAB_SKIP_BROWSER'] === '1';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A fresh profile each time, so nothing from an earlier session is reused. */
export async function launchChromium(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install chromium); set SHARDLAB_SKIP_BROWSER=1 to skip it`);
  }
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'shardlab-chromium-')), {
    executablePath: CHROMIUM,
    args: ARGS,
    viewport: { width: 1320, height: 900 },
  });
}

export interface WatchedPage {
  page: Page;
  /** Console errors and warnings, and uncaught page errors. */
  errors: string[];
  /** Every request the page made that `allowed` refused (those were aborted, never sent). */
  refused: string[];
}

/**
 * A new page that records its errors and lets through only the requests `allowed` accepts (the
 * others are aborted before they leave and recorded in `refused`).
 */
export async function watchedPage(browser: BrowserContext, allowed: (url: URL) => boolean): Promise<WatchedPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const refused: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed(new URL(url))) return route.continue();
    refused.push(url);
    return route.abort();
  });
  return { page, errors, refused };
}
