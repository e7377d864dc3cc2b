import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible, waitUntil } from './browser.ts';

/** `UPDATE_SCREENSHOT=1` refreshes the README's picture; otherwise it goes to the temp dir. */
const screenshotPath = process.env.UPDATE_SCREENSHOT
  ? path.resolve(import.meta.dirname, '../../docs/screenshot.png')
  : path.join(tmpdir(), 'chorus-conversation.png');

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('web client: talking to an agent', () => {
  let server: TestServer;
  let provider: FakeProvider;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: Session;

  before(async () => {
    browser = await launchBrowser();
    provider = await new FakeProvider('openai').listen();
    server = await startTestServer({
      env: { OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: provider.url, CHORUS_DEFAULT_MODEL: 'openai/fake-model' },
    });
    alice = await server.register('acme', 'alice');
    // A colleague and a busy group, so the inbox looks lived-in (and the screenshot shows unread counts).
    const bob = await server.join(alice, 'bob');
    const group = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'Launch plan', members: [{ type: 'user', id: bob.user.id }] },
    });
    for (const content of ['Pricing page copy is ready for review', 'Can someone check the **FAQ** section?']) {
      await server.request('POST', `/api/v1/conversations/${group.body.id}/messages`, {
        token: bob.accessToken,
        body: { content },
      });
    }
    context = await newPerson(browser);
    page = await signIn(context, server.url, { workspace: 'acme', handle: 'alice' });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  test('creates an agent and a direct conversation with it, and streams its reply token by token', async () => {
    await page.getByRole('button', { name: 'Agents' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'New agent' }).click();
    await page.getByLabel('Name').fill('Planner');
    await page.getByLabel('Handle').fill('planner');
    // The configured default model is offered first.
    await waitUntil(
      'the default model',
      () => page.getByLabel('Model').inputValue(),
      (value) => value === 'openai/fake-model',
    );
    await page.getByLabel('System prompt').fill('You plan launches. Be brief.');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await visible(page.getByRole('list', { name: 'Agents' }));
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const { body: models } = await server.request('GET', '/api/v1/models', { token: alice.accessToken });
    assert.deepEqual(models, { items: [{ id: 'openai/fake-model', isDefault: true }], providers: ['openai'], nextCursor: null });

    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByRole('radio', { name: /@planner/ }).check();
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await visible(page.getByRole('heading', { name: 'Planner' }));

    const rest = deferred();
    provider.enqueue({
      steps: [
        { text: 'Here is ' },
        { text: 'the plan' },
        { gate: rest.promise },
        { text: ':\n\n1. Draft the **announcement**\n2. Review it with `@alice`\n3. Ship on Monday' },
      ],
    });
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('How do we launch the new pricing page?');
    await composer.press('Enter');

    const reply = page.locator('li.message.agent').last();
    await visible(reply.getByText('Here is the plan'));
    await visible(reply.getByRole('button', { name: 'Stop' }));
    assert.equal(
      await reply.getAttribute('data-status'),
      'streaming',
      'the first tokens show while the reply is still being written',
    );
    const request = await provider.request(0);
    assert.equal(request.body.messages[0].content, 'You plan launches. Be brief.');

    rest.resolve();
    await visible(reply.getByText('Ship on Monday'));
    await waitUntil(
      'the reply to complete',
      () => reply.getAttribute('data-status'),
      (status) => status === 'complete',
    );
    assert.equal(await reply.getByRole('button', { name: 'Stop' }).count(), 0);
    assert.equal(await reply.locator('strong').textContent(), 'announcement');
    await page.screenshot({ path: screenshotPath });
  });

  test('stops a streaming reply, shows it as stopped, and retries', async () => {
    provider.enqueue({ steps: [{ text: 'Once upon a time' }, { stall: true }] });
    await page.getByRole('textbox', { name: 'Message' }).fill('Tell me a very long story');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');

    const reply = page.locator('li.message.agent').last();
    await visible(reply.getByText('Once upon a time'));
    await reply.getByRole('button', { name: 'Stop' }).click();
    await visible(reply.getByText('Stopped'));
    assert.equal(await reply.getAttribute('data-status'), 'cancelled');
    await (
      await provider.request(1)
    ).aborted;

    provider.enqueue({ steps: [{ text: 'A short one, then.' }] });
    await reply.getByRole('button', { name: 'Retry' }).click();
    const retried = page.locator('li.message.agent').last();
    await visible(retried.getByText('A short one, then.'));
    await waitUntil(
      'the retried reply to complete',
      () => retried.getAttribute('data-status'),
      (status) => status === 'complete',
    );
    assert.match((await provider.request(2)).body.messages.at(-1).content, /Tell me a very long story$/);
  });

  test('shows a failed reply as failed, with the reason and a retry', async () => {
    provider.enqueue({ status: 400, errorMessage: 'The model refused the request' });
    await page.getByRole('textbox', { name: 'Message' }).fill('Summarise the launch');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    const reply = page.locator('li.message.agent').last();
    await waitUntil(
      'the reply to fail',
      () => reply.getAttribute('data-status'),
      (status) => status === 'failed',
    );
    await visible(reply.getByText('Failed'));
    await visible(reply.getByRole('button', { name: 'Retry' }));
  });
});
