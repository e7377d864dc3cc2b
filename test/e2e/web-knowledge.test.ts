import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible } from './browser.ts';

describe('web client: knowledge bases and cited sources', () => {
  let server: TestServer;
  let provider: FakeProvider;
  let browser: Browser;
  let alice: Session;

  before(async () => {
    browser = await launchBrowser();
    provider = await new FakeProvider('openai').listen();
    server = await startTestServer({
      env: { OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: provider.url, CHORUS_DEFAULT_MODEL: 'openai/fake-model' },
    });
    alice = await server.register('acme', 'alice');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  test('creates a knowledge base, uploads a document, gives it to an agent, and shows the sources of its reply', async () => {
    const page = await signIn(await newPerson(browser), server.url, { workspace: 'acme', handle: 'alice' });

    await page.getByRole('button', { name: 'Knowledge' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('New knowledge base').fill('Support');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await visible(dialog.getByLabel('Knowledge base'));
    await dialog.getByLabel('File to upload').setInputFiles({
      name: 'refunds.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from('# Refunds\n\nRefunds are paid within 14 days to the original card.'),
    });
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    const documents = dialog.getByRole('list', { name: 'Documents' });
    await visible(documents.getByText('refunds.md'));
    await visible(documents.getByText(/Ready · 1 chunk/));
    await dialog.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Agents' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'New agent' }).click();
    await page.getByLabel('Name').fill('Helpdesk');
    await page.getByLabel('Handle').fill('helpdesk');
    await page.getByRole('checkbox', { name: 'Support' }).check();
    await page.getByRole('button', { name: 'Create agent' }).click();
    await visible(page.getByRole('list', { name: 'Agents' }));
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const { body: agents } = await server.request('GET', '/api/v1/agents', { token: alice.accessToken });
    assert.equal(agents.items[0].knowledgeBaseIds.length, 1);

    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByRole('radio', { name: /@helpdesk/ }).check();
    await page.getByRole('button', { name: 'Start conversation' }).click();
    await visible(page.getByRole('heading', { name: 'Helpdesk' }));

    provider.enqueue({ steps: [{ text: 'Refunds take up to 14 days [1].' }] });
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('How long do refunds take?');
    await composer.press('Enter');

    const reply = page.locator('li.message.agent').last();
    await visible(reply.getByText('Refunds take up to 14 days'));
    await reply.getByText('1 source').click();
    await visible(reply.getByText('refunds.md'));
    await visible(reply.getByText('Refunds are paid within 14 days to the original card.'));
    assert.match((await provider.request(0)).body.messages[0].content, /\[1\] refunds\.md \(part 1\)/);
  });
});
