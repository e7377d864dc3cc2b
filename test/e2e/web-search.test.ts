import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible, waitUntil } from './browser.ts';

describe('web client: message search', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: Session;
  let groupId: string;

  const post = async (who: Session, conversationId: string, content: string) => {
    const response = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: who.accessToken,
      body: { content },
    });
    assert.equal(response.status, 201);
  };

  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer();
    alice = await server.register('search', 'alice');
    const bob = await server.join(alice, 'bob');
    const create = async (body: unknown) =>
      (await server.request('POST', '/api/v1/conversations', { token: alice.accessToken, body })).body.id as string;
    groupId = await create({ kind: 'group', title: 'Planning', members: [{ type: 'user', id: bob.user.id }] });
    const directId = await create({ kind: 'direct', members: [{ type: 'user', id: bob.user.id }] });
    // The hit is seq 5 of 130: three history pages back from the latest.
    for (let seq = 1; seq <= 130; seq++)
      await post(
        seq % 2 ? bob : alice,
        groupId,
        seq === 5 ? 'The quarterly budget spreadsheet is in the drive' : `Note number ${seq}`,
      );
    await post(bob, directId, 'Did you see the budget?');
    context = await newPerson(browser);
    page = await signIn(context, server.url, { workspace: 'search', handle: 'alice' });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  test('finds messages across conversations with the words marked, and opens one far back in its history', async () => {
    const box = page.getByRole('searchbox', { name: 'Search messages' });
    await box.fill('budget');
    await box.press('Enter');
    const results = page.getByRole('region', { name: 'Search results' });
    await visible(results.getByText('2 messages match “budget”'));
    const hit = results.getByRole('link', { name: /Planning/ });
    await visible(hit.locator('mark').filter({ hasText: 'budget' }));
    await visible(results.getByRole('link', { name: /bob/ }).filter({ hasText: 'Did you see the' }));

    await hit.click();
    await waitUntil(
      'the message link in the address bar',
      async () => new URL(page.url()).pathname,
      (pathname) => pathname === `/c/${groupId}/m/5`,
    );
    const target = page.locator('.message[data-seq="5"]');
    await visible(target.getByText('The quarterly budget spreadsheet is in the drive'));
    assert.equal(await target.getAttribute('aria-current'), 'true');
    await waitUntil(
      'the message scrolled into view',
      () =>
        target.evaluate((element) => {
          const box = element.getBoundingClientRect();
          return box.top >= 0 && box.bottom <= window.innerHeight;
        }),
      (inView) => inView,
    );

    await results.getByRole('button', { name: 'Clear' }).click();
    await visible(page.getByRole('navigation', { name: 'Inbox' }).getByRole('link', { name: /Planning/ }));
  });

  test('a query without searchable words is refused with the reason; a link to a missing message says so', async () => {
    const box = page.getByRole('searchbox', { name: 'Search messages' });
    await box.fill('the');
    await box.press('Enter');
    await visible(
      page
        .getByRole('complementary', { name: 'Conversations' })
        .getByRole('alert')
        .filter({ hasText: 'The search has no words to look for' }),
    );
    await visible(page.getByRole('navigation', { name: 'Inbox' }));
    await box.press('Escape');

    await page.goto(`${server.url}/c/${groupId}/m/999`);
    await visible(page.getByRole('alert').filter({ hasText: 'That message could not be shown' }));
  });
});
