import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible } from './browser.ts';

describe('web client: my assistants (bindings) and private advice', () => {
  let server: TestServer;
  let provider: FakeProvider;
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let alice: Session;
  let bob: Session;
  let conversationId: string;
  let alicePage: Page;
  let bobPage: Page;

  const bobSays = async (content: string) => {
    const response = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: bob.accessToken,
      body: { content },
    });
    assert.equal(response.status, 201);
  };

  before(async () => {
    browser = await launchBrowser();
    provider = await new FakeProvider('openai').listen();
    provider.setFallback((request) => {
      const system = JSON.stringify(request.body.messages?.[0] ?? '');
      return {
        steps: [{ text: system.includes('private suggestion') ? 'Sounds good, see you then' : 'Alice is away, back soon' }],
      };
    });
    server = await startTestServer({
      env: { OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: provider.url, CHORUS_DEFAULT_MODEL: 'openai/fake-model' },
    });
    alice = await server.register('acme', 'alice');
    bob = await server.join(alice, 'bob');
    await server.request('POST', '/api/v1/agents', {
      token: alice.accessToken,
      body: { handle: 'helper', displayName: 'Helper' },
    });
    const created = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'direct', members: [{ type: 'user', id: bob.user.id }] },
    });
    conversationId = created.body.id;
    await bobSays('Hi Alice');
    contexts = [await newPerson(browser), await newPerson(browser)];
    alicePage = await signIn(contexts[0], server.url, { workspace: 'acme', handle: 'alice' });
    bobPage = await signIn(contexts[1], server.url, { workspace: 'acme', handle: 'bob' });
    for (const page of [alicePage, bobPage]) {
      await page
        .getByRole('navigation', { name: 'Inbox' })
        .getByRole('link', { name: /Hi Alice/ })
        .click();
      await visible(page.getByRole('list', { name: 'Messages' }).getByText('Hi Alice'));
    }
  });

  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  test('binds an advice assistant; its suggestion shows only to me, edited then sent, or dismissed', async () => {
    await alicePage.getByRole('button', { name: 'My assistants' }).click();
    const panel = alicePage.getByRole('dialog', { name: 'My assistants here' });
    const form = panel.getByRole('form', { name: 'New assistant' });
    await form.getByLabel('Agent').selectOption({ label: 'Helper (@helper)' });
    await form.getByRole('radio', { name: /Advice/ }).check();
    await form.getByLabel('Instructions').fill('I like short answers.');
    await form.getByRole('button', { name: 'Add assistant' }).click();
    await visible(panel.getByRole('form', { name: 'Advice by Helper' }));
    await panel.getByRole('button', { name: 'Close' }).click();

    await bobSays('Lunch tomorrow at noon?');
    const tray = alicePage.getByRole('region', { name: 'Private advice' });
    const suggestion = tray.getByRole('article', { name: 'Suggestion from Helper' });
    await visible(suggestion.getByText('Sounds good, see you then'));
    await visible(suggestion.getByText('only you see this'));
    assert.equal(await bobPage.getByText('Sounds good, see you then').count(), 0, 'bob never sees the advice');

    await suggestion.getByRole('button', { name: 'Edit' }).click();
    await suggestion.getByRole('textbox', { name: 'Edit suggestion' }).fill('Noon works, see you!');
    await suggestion.getByRole('button', { name: 'Send edited' }).click();
    await visible(bobPage.getByRole('list', { name: 'Messages' }).getByText('Noon works, see you!'));
    await visible(alicePage.getByRole('list', { name: 'Messages' }).getByText('Noon works, see you!'));
    await tray.waitFor({ state: 'detached' });

    await bobSays('And dessert?');
    await visible(tray.getByText('Sounds good, see you then'));
    await tray.getByRole('button', { name: 'Dismiss' }).click();
    await tray.waitFor({ state: 'detached' });
  });

  test('binds an autoreply assistant: others see its answers as "Alice\'s assistant"; the kill switch pauses it', async () => {
    await alicePage.getByRole('button', { name: 'My assistants' }).click();
    const panel = alicePage.getByRole('dialog', { name: 'My assistants here' });
    const form = panel.getByRole('form', { name: 'New assistant' });
    await form.getByRole('radio', { name: /Autoreply/ }).check();
    await form.getByRole('button', { name: 'Add assistant' }).click();
    await visible(panel.getByRole('form', { name: 'Autoreply by Helper' }));
    await panel.getByRole('button', { name: 'Close' }).click();

    await bobSays('Are you around?');
    const reply = bobPage.locator('li.message').filter({ hasText: 'Alice is away, back soon' });
    await visible(reply);
    assert.equal(await reply.locator('.sender').textContent(), "alice's assistant");
    await visible(reply.getByText('via Helper'));
    // Alice's own advice still arrives privately for the same message; dismiss it.
    const tray = alicePage.getByRole('region', { name: 'Private advice' });
    await tray.getByRole('button', { name: 'Dismiss' }).click();

    await alicePage.getByRole('button', { name: 'My assistants' }).click();
    await panel.getByRole('button', { name: 'Pause all my assistants' }).click();
    await visible(panel.getByRole('button', { name: 'Resume all my assistants', pressed: true }));
    const state = await server.request('GET', `/api/v1/users/${alice.user.id}/bindings/pause`, { token: alice.accessToken });
    assert.equal(state.body.paused, true);
  });
});
