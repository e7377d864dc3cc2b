import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible, visibleMessages, waitUntil } from './browser.ts';

describe('web client: the server restarts', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-restart-'));
  let browser: Browser;
  let server: TestServer;
  let provider: FakeProvider;
  const restart = async (port?: string) => {
    const env: Record<string, string> = {
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: provider.url,
      CHORUS_DEFAULT_MODEL: 'openai/fake-model',
    };
    server = await startTestServer({ dataDir, keepDataDir: true, env: port ? { ...env, PORT: port } : env });
  };

  before(async () => {
    browser = await launchBrowser();
    provider = await new FakeProvider('openai').listen();
    await restart();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await provider?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the page reconnects with backoff, syncs what it missed and sends what was written meanwhile, once', async () => {
    const alice = await server.register('acme', 'alice');
    const bob = await server.join(alice, 'bob');
    const { body: group } = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'Restart drill', members: [{ type: 'user', id: bob.user.id }] },
    });
    const post = (content: string) =>
      server.request('POST', `/api/v1/conversations/${group.id}/messages`, { token: alice.accessToken, body: { content } });
    await post('before the restart');

    const context = await newPerson(browser);
    const page = await signIn(context, server.url, { workspace: 'acme', handle: 'bob' });
    await page
      .getByRole('navigation', { name: 'Inbox' })
      .getByRole('link', { name: /Restart drill/ })
      .click();
    await visible(page.getByText('before the restart'));

    const port = new URL(server.url).port;
    await server.close();
    await visible(page.getByRole('status').filter({ hasText: 'reconnecting' }));
    await page.getByRole('textbox', { name: 'Message' }).fill('written while the server was down');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');

    await restart(port);
    await post('after the restart');
    await visible(page.getByRole('status').filter({ hasText: 'Connected' }));
    const shown = await waitUntil(
      'every message once',
      () => visibleMessages(page),
      (items) => items.length >= 3,
    );
    // The page may be back before or after Alice's post: either order is right, each message once.
    assert.deepEqual(
      shown.map(([seq]) => seq),
      [1, 2, 3],
    );
    assert.deepEqual(shown.map(([, text]) => text).sort(), [
      'after the restart',
      'before the restart',
      'written while the server was down',
    ]);
    const { body: history } = await server.request('GET', `/api/v1/conversations/${group.id}/messages`, {
      token: alice.accessToken,
    });
    assert.equal(history.items.length, 3);
    await context.close();
  });

  test('a reply cut off by the restart shows as interrupted, with a retry', async () => {
    const { body: session } = await server.request('POST', '/api/v1/auth/login', {
      body: { workspace: 'acme', handle: 'alice', password: 'correct horse battery' },
    });
    const { body: agent } = await server.request('POST', '/api/v1/agents', {
      token: session.accessToken,
      body: { handle: 'scribe', displayName: 'Scribe' },
    });
    await server.request('POST', '/api/v1/conversations', {
      token: session.accessToken,
      body: { kind: 'direct', members: [{ type: 'agent', id: agent.id }] },
    });
    const context = await newPerson(browser);
    const page = await signIn(context, server.url, { workspace: 'acme', handle: 'alice' });
    await page
      .getByRole('navigation', { name: 'Inbox' })
      .getByRole('link', { name: /Scribe/ })
      .click();
    provider.enqueue({ steps: [{ text: 'Chapter one' }, { stall: true }] });
    await page.getByRole('textbox', { name: 'Message' }).fill('Write the minutes');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    const reply = page.locator('li.message.agent').last();
    await visible(reply.getByText('Chapter one'));

    const port = new URL(server.url).port;
    await server.close();
    await restart(port);
    await waitUntil(
      'the reply to show as interrupted',
      () => reply.getAttribute('data-status'),
      (status) => status === 'interrupted',
    );
    await visible(reply.getByText('Interrupted'));
    await visible(reply.getByRole('button', { name: 'Retry' }));
    await context.close();
  });
});
