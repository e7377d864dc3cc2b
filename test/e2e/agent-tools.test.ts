import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeProvider, toolCallReply } from '../support/fake-providers.ts';
import { startHttpMcpServer, type HttpMcpTestServer } from '../support/mcp-server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible, waitUntil } from './browser.ts';

describe('web client: agent tool calls, approvals and questions', () => {
  let server: TestServer;
  let provider: FakeProvider;
  let mcp: HttpMcpTestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let alicePage: Page;
  let bobPage: Page;

  before(async () => {
    browser = await launchBrowser();
    provider = await new FakeProvider('openai').listen();
    mcp = await startHttpMcpServer();
    server = await startTestServer({
      env: {
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: provider.url,
        CHORUS_DEFAULT_MODEL: 'openai/fake-model',
        CHORUS_OUTBOUND_ALLOW_HOSTS: new URL(mcp.url).host,
      },
    });
    const alice = await server.register('tools', 'alice');
    const bob = await server.join(alice, 'bob');
    const call = (method: string, pathname: string, body: unknown) =>
      server.request(method, `/api/v1${pathname}`, { token: alice.accessToken, body });
    assert.equal((await call('POST', '/mcp-servers', { name: 'web', url: mcp.url })).status, 201);
    const agent = (
      await call('POST', '/agents', {
        handle: 'ops',
        displayName: 'Ops',
        tools: ['mcp:web/*'],
        toolApprovals: ['mcp:web/counter_increment'],
      })
    ).body;
    const asker = (
      await call('POST', '/agents', {
        handle: 'asker',
        displayName: 'Asker',
        chain: { steps: [{ type: 'call_human', member: 'alice', question: 'Which city should I use?' }, { type: 'generate' }] },
      })
    ).body;
    await call('POST', '/conversations', {
      kind: 'group',
      title: 'Ops room',
      members: [
        { type: 'agent', id: agent.id },
        { type: 'agent', id: asker.id },
        { type: 'user', id: bob.user.id },
      ],
    });
    for (const [who, handle] of [
      ['alice', 'alice'],
      ['bob', 'bob'],
    ]) {
      const context = await newPerson(browser);
      contexts.push(context);
      const page = await signIn(context, server.url, { workspace: 'tools', handle });
      await page
        .getByRole('navigation', { name: 'Inbox' })
        .getByRole('link', { name: /Ops room/ })
        .click();
      if (who === 'alice') alicePage = page;
      else bobPage = page;
    }
  });

  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
    await provider?.close();
    await mcp?.close();
  });

  test('shows tool calls as collapsible parts and the approval as buttons only for the requester', async () => {
    provider.enqueue(
      toolCallReply({ name: 'web__echo', args: { check: 'disk' } }, { name: 'web__counter_increment', args: { by: 2 } }),
      { steps: [{ text: 'All done: counter is 2.' }] },
    );
    const composer = alicePage.getByRole('textbox', { name: 'Message' });
    await composer.fill('@ops check the disk and bump the counter');
    await composer.press('Enter');

    const approval = alicePage.getByRole('group', { name: 'Approval request' });
    await visible(approval.getByText('web__counter_increment'));
    const echo = alicePage.locator('details.tool-call[data-state="done"]').first();
    await visible(echo.getByText('web__echo'));
    await echo.locator('summary').click();
    await visible(echo.getByText('{"check":"disk"}'));
    await visible(alicePage.locator('details.tool-call[data-state="awaiting-approval"]').first());

    // bob sees the request but no buttons: it is addressed to alice.
    const bobsView = bobPage.getByRole('group', { name: 'Approval request' });
    await visible(bobsView.getByText('Waiting for an answer'));
    assert.equal(await bobsView.getByRole('button', { name: 'Approve' }).count(), 0);
    assert.equal(mcp.state.counter, 0);

    await approval.getByRole('button', { name: 'Approve' }).click();
    await visible(alicePage.getByText('All done: counter is 2.'));
    await visible(approval.getByText('Approved'));
    await visible(bobsView.getByText('Approved'));
    await waitUntil(
      'the counter to move',
      async () => mcp.state.counter,
      (counter) => counter === 2,
    );
  });

  test('shows a call_human question with an answer box only for the member asked; the answer resumes the run', async () => {
    const composer = alicePage.getByRole('textbox', { name: 'Message' });
    await composer.fill('@asker book a hotel');
    await composer.press('Enter');

    const question = alicePage.getByRole('group', { name: 'Question' });
    await visible(question.getByText('Which city should I use?'));
    const bobsView = bobPage.getByRole('group', { name: 'Question' });
    await visible(bobsView.getByText('Waiting for an answer'));
    assert.equal(await bobsView.getByRole('textbox', { name: 'Your answer' }).count(), 0);

    provider.enqueue({ steps: [{ text: 'Booking in Lisbon.' }] });
    const requests = provider.requests.length;
    await question.getByRole('textbox', { name: 'Your answer' }).fill('Lisbon');
    await question.getByRole('button', { name: 'Answer' }).click();
    await visible(alicePage.getByText('Booking in Lisbon.'));
    await visible(question.getByText('Answered'));
    await visible(bobsView.getByText('Answered'));
    assert.equal(provider.requests.length, requests + 1, 'the answer resumed the run');
    assert.match(JSON.stringify(provider.requests.at(-1)!.body), /Lisbon/);
  });
});
