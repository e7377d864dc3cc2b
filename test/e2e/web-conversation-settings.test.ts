import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeProvider, jsonReply } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible, waitUntil } from './browser.ts';

describe('web client: members, schedules, memory, API keys and background jobs', () => {
  let server: TestServer;
  let provider: FakeProvider;
  /** A web origin whose every page answers 503: an ingestion from it fails and is dead-lettered. */
  let origin: Server;
  let browser: Browser;
  let alice: Session;
  let bob: Session;
  let carol: Session;
  let planner: { id: string };
  let groupId: string;
  const contexts: BrowserContext[] = [];
  let alicePage: Page;
  let bobPage: Page;

  const api = async (who: Session, method: string, pathname: string, body?: unknown) =>
    (await server.request(method, `/api/v1${pathname}`, { token: who.accessToken, body })).body;
  const dialog = (page: Page) => page.getByRole('dialog');
  const openGroup = (page: Page) =>
    page
      .getByRole('navigation', { name: 'Inbox' })
      .getByRole('link', { name: /Launch/ })
      .click();

  before(async () => {
    browser = await launchBrowser();
    provider = await new FakeProvider('openai').listen();
    origin = createServer((_request, response) => response.writeHead(503).end('down for maintenance'));
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const originHost = `127.0.0.1:${(origin.address() as { port: number }).port}`;
    server = await startTestServer({
      env: {
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: provider.url,
        CHORUS_DEFAULT_MODEL: 'openai/fake-model',
        CHORUS_OUTBOUND_ALLOW_HOSTS: originHost,
        CHORUS_JOB_RETRY_BASE_DELAY_MS: '50',
      },
    });
    alice = await server.register('settings', 'alice');
    bob = await server.join(alice, 'bob');
    carol = await server.join(alice, 'carol');
    planner = await api(alice, 'POST', '/agents', { handle: 'planner', displayName: 'Planner', memoryEnabled: true });
    groupId = (
      await api(alice, 'POST', '/conversations', { kind: 'group', title: 'Launch', members: [{ type: 'user', id: bob.user.id }] })
    ).id;
    for (const handle of ['alice', 'bob']) {
      const context = await newPerson(browser);
      contexts.push(context);
      const page = await signIn(context, server.url, { workspace: 'settings', handle });
      await openGroup(page);
      if (handle === 'alice') alicePage = page;
      else bobPage = page;
    }
  });

  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
    await provider?.close();
    origin?.close();
  });

  test('the group owner renames the group, adds a person and an agent, removes one; a member may only leave', async () => {
    await alicePage.getByRole('button', { name: 'Members' }).click();
    const members = dialog(alicePage);
    await visible(members.getByRole('list', { name: 'Members' }).getByText('@bob'));
    await members.getByRole('checkbox', { name: /@carol/ }).check();
    await members.getByRole('checkbox', { name: /@planner/ }).check();
    await members.getByRole('button', { name: 'Add to conversation' }).click();
    await visible(members.getByRole('list', { name: 'Members' }).getByText('@carol'));
    await visible(members.getByRole('list', { name: 'Members' }).getByText('@planner'));
    const stored = await api(alice, 'GET', `/conversations/${groupId}`);
    assert.deepEqual(stored.members.map((member: { handle: string }) => member.handle).toSorted(), [
      'alice',
      'bob',
      'carol',
      'planner',
    ]);
    // Bob sees the new members live (conversation.updated), without reloading.
    await visible(bobPage.locator('.members-line').getByText('@carol'));
    // Carol learnt of it live: the group is in her inbox.
    assert.ok((await api(carol, 'GET', '/conversations')).items.some((entry: { id: string }) => entry.id === groupId));

    await members.getByRole('button', { name: 'Remove carol' }).click();
    await waitUntil(
      'carol removed',
      async () => (await api(alice, 'GET', `/conversations/${groupId}`)).members.length,
      (count) => count === 3,
    );
    await waitUntil(
      'carol gone from the list',
      () => members.getByRole('list', { name: 'Members' }).getByText('@carol').count(),
      (count) => count === 0,
    );
    // Renaming shows at once on both sides (conversation.updated), in the header and the inbox.
    await members.getByLabel('Group name').fill('Launch war room');
    await members.getByRole('button', { name: 'Rename' }).click();
    await visible(bobPage.getByRole('heading', { name: 'Launch war room' }));
    await visible(bobPage.getByRole('navigation', { name: 'Inbox' }).getByRole('link', { name: /Launch war room/ }));
    assert.equal((await api(alice, 'GET', `/conversations/${groupId}`)).title, 'Launch war room');
    await members.getByRole('button', { name: 'Close' }).click();
    await visible(alicePage.getByRole('heading', { name: 'Launch war room' }));
    await visible(alicePage.locator('.members-line').getByText('@planner'));
    await waitUntil(
      'carol gone from bob’s header',
      () => bobPage.locator('.members-line').getByText('@carol').count(),
      (count) => count === 0,
    );

    await bobPage.getByRole('button', { name: 'Members' }).click();
    const bobsView = dialog(bobPage);
    await visible(bobsView.getByRole('button', { name: 'Leave' }));
    assert.equal(await bobsView.getByRole('button', { name: /^Remove/ }).count(), 0, 'a member cannot remove others');
    await bobsView.getByRole('button', { name: 'Leave' }).click();
    await bobPage.getByRole('dialog').waitFor({ state: 'detached' });
    await waitUntil(
      'the group gone from bob’s inbox',
      () =>
        bobPage
          .getByRole('navigation', { name: 'Inbox' })
          .getByRole('link', { name: /Launch/ })
          .count(),
      (count) => count === 0,
    );
    assert.equal((await server.request('GET', `/api/v1/conversations/${groupId}`, { token: bob.accessToken })).status, 404);
  });

  test('schedules an agent in the conversation: a bad expression is refused, then pause, resume and delete', async () => {
    await alicePage.getByRole('button', { name: 'Schedules' }).click();
    const schedules = dialog(alicePage);
    await visible(schedules.getByText('No schedules in this conversation.'));
    const form = schedules.getByRole('form', { name: 'New schedule' });
    await form.getByLabel(/^When/).fill('every morning');
    await form.getByLabel(/^Prompt/).fill('Post the launch checklist.');
    await form.getByRole('button', { name: 'Add schedule' }).click();
    await visible(schedules.getByRole('alert'));
    assert.deepEqual((await api(alice, 'GET', '/schedules')).items, []);

    await form.getByLabel(/^When/).fill('0 9 * * 1-5');
    await form.getByLabel('Time zone').fill('Europe/Paris');
    await form.getByRole('button', { name: 'Add schedule' }).click();
    const item = schedules.getByRole('listitem', { name: 'Post the launch checklist.' });
    await visible(item.getByText(/next /));
    let [stored] = (await api(alice, 'GET', '/schedules')).items;
    assert.deepEqual(
      [stored.agentId, stored.conversationId, stored.cron, stored.timezone, stored.paused],
      [planner.id, groupId, '0 9 * * 1-5', 'Europe/Paris', false],
    );

    await item.getByRole('button', { name: 'Pause' }).click();
    await visible(item.getByText(/paused/));
    [stored] = (await api(alice, 'GET', '/schedules')).items;
    assert.equal(stored.paused, true);
    await item.getByRole('button', { name: 'Resume' }).click();
    await visible(item.getByText(/next /));
    await item.getByRole('button', { name: 'Delete' }).click();
    await visible(schedules.getByText('No schedules in this conversation.'));
    assert.deepEqual((await api(alice, 'GET', '/schedules')).items, []);
    await schedules.getByRole('button', { name: 'Close' }).click();
  });

  test('lists what an agent remembers about me, and forgets one fact', async () => {
    await alicePage.getByRole('button', { name: 'New conversation' }).click();
    await alicePage.getByRole('radio', { name: /@planner/ }).check();
    await alicePage.getByRole('button', { name: 'Start conversation' }).click();
    await visible(alicePage.getByRole('heading', { name: 'Planner' }));
    provider.enqueue({ steps: [{ text: 'Noted!' }] }, jsonReply({ facts: ['Alice drinks green tea'] }));
    const composer = alicePage.getByRole('textbox', { name: 'Message' });
    await composer.fill('I only drink green tea');
    await composer.press('Enter');
    await visible(alicePage.getByText('Noted!'));
    await waitUntil(
      'the fact stored',
      async () => (await api(alice, 'GET', '/memories')).items.length,
      (count) => count === 1,
    );

    await alicePage.getByRole('button', { name: 'Settings' }).click();
    const memory = dialog(alicePage);
    const fact = memory.getByRole('list', { name: 'Memories' }).getByRole('listitem');
    await visible(fact.getByText('Alice drinks green tea'));
    await visible(fact.getByText(/Planner/));
    await fact.getByRole('button', { name: 'Forget “Alice drinks green tea”' }).click();
    await visible(memory.getByText(/Nothing yet/));
    assert.deepEqual((await api(alice, 'GET', '/memories')).items, []);
    await memory.getByRole('button', { name: 'Close' }).click();
  });

  test('creates an API key shown once, which works until it is revoked', async () => {
    await alicePage.getByRole('button', { name: 'Settings' }).click();
    const settings = dialog(alicePage);
    await settings.getByLabel('New key name').fill('deploy bot');
    await settings.getByRole('button', { name: 'Create key' }).click();
    const shown = settings.getByLabel(/Your new key “deploy bot”/);
    await visible(shown);
    const key = await shown.inputValue();
    const asKey = () => server.request('GET', '/api/v1/me', { token: key });
    assert.equal((await asKey()).status, 200);
    assert.equal((await asKey()).body.user.handle, 'alice', 'the key acts as its maker');
    const listed = settings.getByRole('list', { name: 'API keys' }).getByRole('listitem', { name: 'deploy bot' });
    await visible(listed);
    assert.doesNotMatch(await settings.getByRole('list', { name: 'API keys' }).innerText(), new RegExp(key.slice(-12)));

    await settings.getByRole('button', { name: 'Done' }).click();
    assert.equal(await settings.getByLabel(/Your new key/).count(), 0, 'never shown again');
    await listed.getByRole('button', { name: 'Revoke' }).click();
    await listed.getByRole('button', { name: 'Revoke deploy bot' }).click();
    await waitUntil(
      'the key revoked',
      async () => (await asKey()).status,
      (status) => status === 401,
    );
    await waitUntil(
      'the key gone from the list',
      () => settings.getByRole('list', { name: 'API keys' }).count(),
      (count) => count === 0,
    );
    await settings.getByRole('button', { name: 'Close' }).click();
  });

  test('shows owners the workspace’s failed background jobs with their error; members do not see them', async () => {
    const base = await api(alice, 'POST', '/knowledge-bases', { name: 'Status pages' });
    const originUrl = `http://${(origin.address() as { address: string; port: number }).address}:${(origin.address() as { port: number }).port}`;
    await api(alice, 'POST', `/knowledge-bases/${base.id}/documents`, { url: `${originUrl}/status` });
    await waitUntil(
      'the ingestion dead-lettered after its retries',
      async () => (await api(alice, 'GET', '/jobs?state=failed')).items.length,
      (count) => count === 1,
    );

    await alicePage.getByRole('button', { name: 'Settings' }).click();
    const jobs = dialog(alicePage).getByRole('list', { name: 'Jobs' });
    const failed = jobs.locator('li[data-state="failed"]');
    await visible(failed.getByText('knowledge.ingest'));
    await visible(failed.getByText(/failed for good/));
    await visible(failed.getByText(/HTTP 503/));
    await visible(failed.getByText('attempt 3 of 3'));
    await dialog(alicePage).getByRole('button', { name: 'Close' }).click();

    await bobPage.getByRole('button', { name: 'Settings' }).click();
    await visible(dialog(bobPage).getByRole('heading', { name: 'API keys' }));
    assert.equal(
      await dialog(bobPage)
        .getByRole('heading', { name: /Background jobs/ })
        .count(),
      0,
    );
    await dialog(bobPage).getByRole('button', { name: 'Close' }).click();
  });
});
