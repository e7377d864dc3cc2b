import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { TestClient } from '../realtime/client.ts';
import { FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { createKnowledgeBase, documentSettled, uploadDocument } from '../knowledge/support.ts';
import { launchBrowser, newPerson, signIn, visible } from './browser.ts';

describe('web client: an agent reply shows its knowledge sources', () => {
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

  test('lists the cited document and excerpt under the reply', async () => {
    const baseId = await createKnowledgeBase(server, alice, 'Support');
    const client = await TestClient.connect(server, alice.accessToken);
    const document = await uploadDocument(server, alice, baseId, {
      bytes: '# Refunds\n\nRefunds are paid within 14 days to the original card.',
      name: 'refunds.md',
      type: 'text/markdown',
    });
    assert.equal((await documentSettled(client, document.body.id)).document.status, 'ready');
    await client.close();
    const agent = await server.request('POST', '/api/v1/agents', {
      token: alice.accessToken,
      body: { handle: 'helpdesk', displayName: 'Helpdesk', knowledgeBaseIds: [baseId] },
    });
    await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'direct', members: [{ type: 'agent', id: agent.body.id }] },
    });

    const page = await signIn(await newPerson(browser), server.url, { workspace: 'acme', handle: 'alice' });
    await page
      .getByRole('navigation', { name: 'Inbox' })
      .getByRole('link', { name: /Helpdesk/ })
      .click();
    provider.enqueue({ steps: [{ text: 'Refunds take up to 14 days [1].' }] });
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('How long do refunds take?');
    await composer.press('Enter');

    const reply = page.locator('li.message.agent').last();
    await visible(reply.getByText('Refunds take up to 14 days'));
    await reply.getByText('1 source').click();
    await visible(reply.getByText('refunds.md'));
    await visible(reply.getByText('Refunds are paid within 14 days to the original card.'));
  });
});
