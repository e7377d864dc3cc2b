import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, testPassword, visible, visibleMessages, waitUntil } from './browser.ts';

describe('web client: people chatting in the browser', () => {
  let server: TestServer;
  let browser: Browser;
  let alice: Session;
  let bob: Session;

  before(async () => {
    browser = await launchBrowser();
    server = await startTestServer();
    alice = await server.register('acme', 'alice');
    bob = await server.join(alice, 'bob');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('signs in with workspace, handle and password, and signs out', async () => {
    const context = await newPerson(browser);
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByLabel('Workspace').fill('acme');
    await page.getByLabel('Handle').fill('alice');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('alert'));

    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('status').filter({ hasText: 'Connected' }));
    await visible(page.getByText('@alice'));

    // A reload with an access token the server no longer accepts stays signed in through a refresh.
    await page.evaluate(() => {
      const tokens = JSON.parse(localStorage.getItem('chorus.tokens')!);
      localStorage.setItem('chorus.tokens', JSON.stringify({ ...tokens, accessToken: 'expired' }));
    });
    await page.reload();
    await visible(page.getByRole('status').filter({ hasText: 'Connected' }));
    await visible(page.getByText('@alice'));
    await waitUntil(
      'a refreshed access token',
      () => page.evaluate(() => JSON.parse(localStorage.getItem('chorus.tokens')!).accessToken as string),
      (token) => token !== 'expired',
    );

    await page.getByRole('button', { name: 'Sign out' }).click();
    await visible(page.getByRole('button', { name: 'Sign in' }));
    await page.reload();
    await visible(page.getByRole('button', { name: 'Sign in' }));
    await context.close();
  });

  test('registers a new workspace and joins another with an invite code', async () => {
    const context = await newPerson(browser);
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Create a workspace' }).click();
    await page.getByLabel('Workspace').fill('globex');
    await page.getByLabel('Handle').fill('hank');
    await page.getByLabel('Password').fill(testPassword);
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await visible(page.getByText('@hank'));

    await page.getByRole('button', { name: 'Invite' }).click();
    const code = await (await visible(page.getByLabel('Invite code'))).inputValue();
    const link = await page.getByLabel('Invite link').inputValue();
    assert.ok(code.length > 0);
    assert.ok(link.includes(encodeURIComponent(code)) || link.includes(code));
    await page.keyboard.press('Escape');
    await context.close();

    const colleague = await newPerson(browser);
    const joinPage = await colleague.newPage();
    await joinPage.goto(link);
    assert.equal(await joinPage.getByLabel('Invite code').inputValue(), code);
    assert.equal(await joinPage.getByLabel('Workspace').inputValue(), 'globex');
    await joinPage.getByLabel('Handle').fill('marge');
    await joinPage.getByLabel('Password').fill(testPassword);
    await joinPage.getByRole('button', { name: 'Join workspace' }).click();
    await visible(joinPage.getByText('@marge'));

    // A direct conversation with a person.
    await joinPage.getByRole('button', { name: 'New conversation' }).click();
    await joinPage.getByRole('radio', { name: /@hank/ }).check();
    await joinPage.getByRole('button', { name: 'Start conversation' }).click();
    await visible(joinPage.getByRole('heading', { name: 'hank' }));
    await joinPage.getByRole('textbox', { name: 'Message' }).fill('Hi Hank, thanks for the invite!');
    await joinPage.getByRole('textbox', { name: 'Message' }).press('Enter');
    await visible(joinPage.locator('li.message[data-seq="1"]').getByText('thanks for the invite'));
    await colleague.close();
  });

  test('works from the keyboard, with a visible focus ring', async () => {
    const context = await newPerson(browser);
    const page = await signIn(context, server.url, { workspace: 'acme', handle: 'alice' });
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    for (let presses = 0; presses < 10 && (await focused()) !== 'New conversation'; presses++) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'New conversation');
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement!).boxShadow);
    assert.notEqual(ring, 'none', 'the focused control shows a ring');

    await page.keyboard.press('Enter');
    await visible(page.getByRole('dialog', { name: 'New conversation' }));
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    assert.equal(await focused(), 'New conversation', 'focus returns to where it was');
    await context.close();
  });

  test('a link to a conversation that does not exist says so and leads back', async () => {
    const context = await newPerson(browser);
    const page = await signIn(context, server.url, { workspace: 'acme', handle: 'alice' });
    await page.goto(`${server.url}/c/00000000-0000-7000-8000-000000000000`);
    await visible(page.getByRole('heading', { name: 'Conversation not available' }));
    await page.getByRole('button', { name: 'Back to inbox' }).first().click();
    await visible(page.getByRole('heading', { name: 'Welcome to Chorus' }));
    await context.close();
  });

  test('a second person sees a group message arrive live, and a reload keeps history', async () => {
    const aliceContext = await newPerson(browser);
    const bobContext = await newPerson(browser, { viewport: { width: 390, height: 844 } });
    const alicePage = await signIn(aliceContext, server.url, { workspace: 'acme', handle: 'alice' });
    const bobPage = await signIn(bobContext, server.url, { workspace: 'acme', handle: 'bob' });

    await alicePage.getByRole('button', { name: 'New conversation' }).click();
    await alicePage.getByLabel('Group').check();
    await alicePage.getByLabel('Title').fill('Launch plan');
    await alicePage.getByRole('checkbox', { name: /@bob/ }).check();
    await alicePage.getByRole('button', { name: 'Create group' }).click();
    await visible(alicePage.getByRole('heading', { name: 'Launch plan' }));

    // Bob's inbox learns about the group live, then shows an unread count for Alice's message.
    const bobEntry = bobPage.getByRole('navigation', { name: 'Inbox' }).getByRole('link', { name: /Launch plan/ });
    await visible(bobEntry);
    const composer = alicePage.getByRole('textbox', { name: 'Message' });
    await composer.fill('Kick-off at **10:00**');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('<img src=x onerror="window.pwned=1"> ![logo](http://192.0.2.1/logo.png)');
    await composer.press('Enter');
    await visible(bobEntry.getByLabel('1 unread'));
    await waitUntil(
      'the unread count in the title',
      () => bobPage.title(),
      (title) => title === '(1) Chorus',
    );

    await bobEntry.click();
    const bobMessages = bobPage.getByRole('list', { name: 'Messages' });
    await visible(bobMessages.getByText('Kick-off at'));
    assert.equal(await bobMessages.locator('strong').first().textContent(), '10:00');
    assert.equal(await bobMessages.locator('img').count(), 0, 'no image is loaded by itself');
    await visible(bobMessages.getByText('<img src=x onerror="window.pwned=1">'));
    assert.equal(await bobPage.evaluate(() => (window as { pwned?: number }).pwned), undefined);
    await visible(bobPage.getByRole('button', { name: 'Back to inbox' }));
    assert.equal(
      await bobPage.getByRole('complementary', { name: 'Conversations' }).isVisible(),
      false,
      'one pane at a time on a phone',
    );

    // Typing shows on the other side; Bob's reply arrives live for Alice, who then sees it read.
    // `@` suggests members: Tab picks the highlighted one.
    const bobComposer = bobPage.getByRole('textbox', { name: 'Message' });
    await bobComposer.pressSequentially('Sounds good @al', { delay: 10 });
    await visible(alicePage.getByText('Bob is typing…').or(alicePage.getByText('bob is typing…')));
    await visible(bobPage.getByRole('option', { name: /@alice/ }));
    await bobComposer.press('Tab');
    assert.equal(await bobComposer.inputValue(), 'Sounds good @alice ');
    await bobComposer.press('Enter');
    await visible(alicePage.getByRole('list', { name: 'Messages' }).getByText('Sounds good @alice'));
    await bobPage.getByRole('button', { name: 'Back to inbox' }).click();
    await alicePage.getByRole('textbox', { name: 'Message' }).fill('See you there');
    await alicePage.getByRole('textbox', { name: 'Message' }).press('Enter');
    await visible(alicePage.locator('li.message[data-seq="3"]'));
    await visible(bobEntry.getByLabel('1 unread'));
    assert.equal(await alicePage.getByText(/Seen by/).count(), 0, 'not seen while Bob is away');
    await bobEntry.click();
    await visible(alicePage.locator('li.message[data-seq="3"]').getByText('Seen by bob'));

    await bobPage.reload();
    await visible(bobPage.getByRole('list', { name: 'Messages' }).getByText('See you there'));
    const afterReload = await visibleMessages(bobPage);
    assert.deepEqual(
      afterReload.map(([seq]) => seq),
      [1, 2, 3],
    );
    await aliceContext.close();
    await bobContext.close();
  });

  test('reconnects with backoff after the connection drops and syncs what it missed', async () => {
    const { body: group } = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'Server restart', members: [{ type: 'user', id: bob.user.id }] },
    });
    const post = (content: string) =>
      server.request('POST', `/api/v1/conversations/${group.id}/messages`, { token: alice.accessToken, body: { content } });
    await post('first');

    const bobContext = await newPerson(browser);
    // Every WebSocket of the page goes through here, so the test can cut it as a restart would.
    const sockets: WebSocketRoute[] = [];
    await bobContext.routeWebSocket(/\/api\/v1\/ws$/, (socket) => {
      sockets.push(socket);
      socket.connectToServer();
    });
    const page = await signIn(bobContext, server.url, { workspace: 'acme', handle: 'bob' });
    await page
      .getByRole('navigation', { name: 'Inbox' })
      .getByRole('link', { name: /Server restart/ })
      .click();
    await visible(page.getByText('first'));

    const connections = sockets.length;
    await sockets.at(-1)!.close({ code: 1001, reason: 'server shutting down' });
    await post('while away one');
    await post('while away two');
    await waitUntil(
      'a new connection',
      async () => sockets.length,
      (count) => count > connections,
    );
    await visible(page.getByRole('status').filter({ hasText: 'Connected' }));
    const shown = await waitUntil(
      'the missed messages',
      () => visibleMessages(page),
      (items) => items.length >= 3,
    );
    assert.deepEqual(shown, [
      [1, 'first'],
      [2, 'while away one'],
      [3, 'while away two'],
    ]);
    await post('live again');
    await visible(page.getByText('live again'));
    assert.deepEqual(
      (await visibleMessages(page)).map(([seq]) => seq),
      [1, 2, 3, 4],
    );
    await bobContext.close();
  });

  test('going offline and back resyncs without gaps or duplicates and sends what was queued once', async () => {
    const { body: group } = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'Offline drill', members: [{ type: 'user', id: bob.user.id }] },
    });
    const post = (content: string, clientMsgId?: string) =>
      server.request('POST', `/api/v1/conversations/${group.id}/messages`, {
        token: alice.accessToken,
        body: { content, clientMsgId },
      });
    await post('before the outage');

    const bobContext = await newPerson(browser);
    const page: Page = await signIn(bobContext, server.url, { workspace: 'acme', handle: 'bob' });
    await page
      .getByRole('navigation', { name: 'Inbox' })
      .getByRole('link', { name: /Offline drill/ })
      .click();
    await visible(page.getByText('before the outage'));

    await bobContext.setOffline(true);
    await visible(page.getByRole('status').filter({ hasText: 'Offline' }));
    for (const content of ['missed one', 'missed two', 'missed three']) await post(content);
    await page.getByRole('textbox', { name: 'Message' }).fill('written offline');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await visible(page.getByText('Queued: waiting for the connection'));

    await bobContext.setOffline(false);
    await visible(page.getByRole('status').filter({ hasText: 'Connected' }));
    const shown = await waitUntil(
      'every message once, in order',
      () => visibleMessages(page),
      (items) => items.length >= 5,
    );
    assert.deepEqual(shown, [
      [1, 'before the outage'],
      [2, 'missed one'],
      [3, 'missed two'],
      [4, 'missed three'],
      [5, 'written offline'],
    ]);
    await waitUntil(
      'the queue to drain',
      () => page.locator('li.queued').count(),
      (count) => count === 0,
    );
    const { body: history } = await server.request('GET', `/api/v1/conversations/${group.id}/messages`, {
      token: alice.accessToken,
    });
    assert.deepEqual(
      history.items.map((message: { content: string }) => message.content),
      ['before the outage', 'missed one', 'missed two', 'missed three', 'written offline'],
    );
    await bobContext.close();
  });
});
