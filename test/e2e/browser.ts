import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ensureWebBuilt } from '../../scripts/build-web.ts';

/** Debian's chromium package (`.ci/run` installs it): the only browser the e2e tests use. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The password test/support/server.ts registers everyone with. */
export const testPassword = 'correct horse battery';

/**
 * Builds the web client when web/dist is missing or stale, then launches headless Chromium with
 * no network beyond loopback. Throws (failing the suite loudly) when Chromium is not installed.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: the web client's end-to-end tests need it (apt-get install chromium, as .ci/run does)`,
    );
  }
  await ensureWebBuilt({ quiet: true });
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh browser profile (own storage) at `viewport`; `expect` timeouts are generous for a 2-core machine. */
export async function newPerson(
  browser: Browser,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
  context.setDefaultTimeout(15_000);
  return context;
}

/** Opens `baseUrl`, signs in through the form and waits for the inbox. */
export async function signIn(
  context: BrowserContext,
  baseUrl: string,
  who: { workspace: string; handle: string },
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(baseUrl);
  await page.getByLabel('Workspace').fill(who.workspace);
  await page.getByLabel('Handle').fill(who.handle);
  await page.getByLabel('Password').fill(testPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await visible(page.getByRole('complementary', { name: 'Conversations' }));
  await visible(page.getByRole('status').filter({ hasText: 'Connected' }));
  return page;
}

/** The visible messages of the open conversation as `[seq, text]` pairs, in page order. */
export async function visibleMessages(page: Page): Promise<Array<[number, string]>> {
  return page
    .getByRole('list', { name: 'Messages' })
    .locator('li.message[data-seq]')
    .evaluateAll((items) =>
      items.map(
        (item) => [Number(item.getAttribute('data-seq')), item.querySelector('.markdown')?.textContent ?? ''] as [number, string],
      ),
    );
}

/** Waits for `locator` to be visible (Playwright's default timeout of the context applies). */
export async function visible(locator: Locator): Promise<Locator> {
  await locator.first().waitFor({ state: 'visible' });
  return locator;
}

/**
 * Polls `read` every 50 ms until `accept` holds for its value (a web-first assertion, as
 * Playwright's expect does); throws with `what` and the last value seen after `timeoutMs`.
 */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
