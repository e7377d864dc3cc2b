import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible, waitUntil } from './browser.ts';

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

  test('tries a search, refuses a private address, deletes a document and then the knowledge base', async () => {
    const page = await signIn(await newPerson(browser), server.url, { workspace: 'acme', handle: 'alice' });
    await page.getByRole('button', { name: 'Knowledge' }).click();
    const dialog = page.getByRole('dialog');
    const documents = dialog.getByRole('list', { name: 'Documents' });
    await visible(documents.getByText(/Ready · 1 chunk/));

    const search = dialog.getByRole('form', { name: 'Try a search' });
    await search.getByLabel('Try a search').fill('when is the refund paid');
    await search.getByRole('button', { name: 'Search' }).click();
    const passages = dialog.getByRole('list', { name: 'Passages' });
    await visible(passages.getByText('refunds.md'));
    await visible(passages.getByText(/paid within 14 days/));
    await search.getByLabel('Try a search').fill('zebra');
    await search.getByRole('button', { name: 'Search' }).click();
    await visible(passages.getByText('Nothing in this knowledge base matches.'));

    // Loopback is a private address: refused unless an admin allows it (SSRF rules).
    await dialog.getByLabel('Or a page by its address').fill(`${server.url}/healthz`);
    await dialog.getByRole('button', { name: 'Add page' }).click();
    await visible(dialog.getByRole('alert'));
    const [base] = (await server.request('GET', '/api/v1/knowledge-bases', { token: alice.accessToken })).body.items;
    const listed = await server.request('GET', `/api/v1/knowledge-bases/${base.id}/documents`, { token: alice.accessToken });
    assert.equal(listed.body.items.length, 1, 'nothing was added');

    await documents.getByRole('button', { name: 'Delete refunds.md' }).click();
    await documents.getByRole('button', { name: 'Delete refunds.md' }).click();
    await waitUntil(
      'the document gone',
      () => documents.getByText('refunds.md').count(),
      (count) => count === 0,
    );
    await dialog.getByRole('button', { name: 'Delete this knowledge base' }).click();
    await dialog.getByRole('button', { name: 'Delete the knowledge base and its documents' }).click();
    await waitUntil(
      'the knowledge base gone',
      async () => (await server.request('GET', '/api/v1/knowledge-bases', { token: alice.accessToken })).body.items.length,
      (count) => count === 0,
    );
    await visible(dialog.getByLabel('New knowledge base'));
    assert.equal(await dialog.getByLabel('Knowledge base', { exact: true }).count(), 0);
  });
});
