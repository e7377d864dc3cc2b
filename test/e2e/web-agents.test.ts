import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeProvider, toolCallReply } from '../support/fake-providers.ts';
import { startHttpMcpServer, type HttpMcpTestServer } from '../support/mcp-server.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { launchBrowser, newPerson, signIn, visible, waitUntil } from './browser.ts';

describe('web client: agents and MCP servers set up from the page', () => {
  let server: TestServer;
  let provider: FakeProvider;
  let mcp: HttpMcpTestServer;
  let browser: Browser;
  let alice: Session;
  let bob: Session;
  const contexts: BrowserContext[] = [];
  let alicePage: Page;
  let bobPage: Page;

  const api = async (who: Session, method: string, pathname: string) =>
    (await server.request(method, `/api/v1${pathname}`, { token: who.accessToken })).body;
  const dialog = (page: Page) => page.getByRole('dialog');

  before(async () => {
    browser = await launchBrowser();
    provider = await new FakeProvider('openai').listen();
    // The server refuses every request without this header: the one typed into the page must reach it.
    mcp = await startHttpMcpServer({ requireHeader: { name: 'X-Api-Key', value: 'secret-1' } });
    server = await startTestServer({
      env: {
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: provider.url,
        CHORUS_DEFAULT_MODEL: 'openai/fake-model',
        CHORUS_OUTBOUND_ALLOW_HOSTS: new URL(mcp.url).host,
      },
    });
    alice = await server.register('agents-ui', 'alice');
    bob = await server.join(alice, 'bob');
    for (const handle of ['alice', 'bob']) {
      const context = await newPerson(browser);
      contexts.push(context);
      const page = await signIn(context, server.url, { workspace: 'agents-ui', handle });
      if (handle === 'alice') alicePage = page;
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

  test('an admin adds an MCP server with a secret header, lists its tools, disables and enables it', async () => {
    await alicePage.getByRole('button', { name: 'Tools' }).click();
    const tools = dialog(alicePage);
    await visible(tools.getByText(/No MCP servers yet/));
    const form = tools.getByRole('form', { name: 'Add an MCP server' });
    await form.getByLabel('Server name').fill('Bad Name');
    await form.getByLabel('URL').fill(mcp.url);
    await form.getByRole('button', { name: 'Add server' }).click();
    // The browser's own pattern check stops it: nothing is stored.
    assert.equal((await api(alice, 'GET', '/mcp-servers')).items.length, 0);

    await form.getByLabel('Server name').fill('web');
    await form.getByLabel(/^Headers/).fill('no colon here');
    await form.getByRole('button', { name: 'Add server' }).click();
    await visible(tools.getByRole('alert').filter({ hasText: 'Headers, line 1: write "Name: value"' }));
    assert.equal((await api(alice, 'GET', '/mcp-servers')).items.length, 0);

    await form.getByLabel(/^Headers/).fill('X-Api-Key: secret-1');
    await form.getByRole('button', { name: 'Add server' }).click();
    const item = tools.getByRole('listitem', { name: 'web' });
    await visible(item.getByText(/headers: X-Api-Key/));
    const [stored] = (await api(alice, 'GET', '/mcp-servers')).items;
    assert.deepEqual(
      [stored.name, stored.transport, stored.headerNames, stored.enabled],
      ['web', 'streamable-http', ['X-Api-Key'], true],
    );
    assert.doesNotMatch(JSON.stringify(stored), /secret-1/, 'a header value never comes back');

    await item.getByRole('button', { name: 'Show tools' }).click();
    const catalogue = item.getByRole('list', { name: 'Tools of web' });
    await visible(catalogue.getByText('counter_increment'));
    await visible(catalogue.getByText('echo', { exact: true }));
    assert.equal(mcp.state.lastHeaders['x-api-key'], 'secret-1');

    await item.getByRole('button', { name: 'Disable' }).click();
    await visible(item.getByText(/disabled/));
    assert.equal((await api(alice, 'GET', '/mcp-servers')).items[0].enabled, false);
    await item.getByRole('button', { name: 'Enable' }).click();
    await visible(item.getByRole('button', { name: 'Disable' }));
    assert.equal((await api(alice, 'GET', '/mcp-servers')).items[0].enabled, true);

    // A member sees the servers, not the controls.
    await bobPage.getByRole('button', { name: 'Tools' }).click();
    await visible(dialog(bobPage).getByRole('listitem', { name: 'web' }));
    await visible(dialog(bobPage).getByText('Owners and admins add and change servers.'));
    assert.equal(await dialog(bobPage).getByRole('button', { name: 'Disable' }).count(), 0);
    await dialog(bobPage).getByRole('button', { name: 'Close' }).click();
    await tools.getByRole('button', { name: 'Close' }).click();
  });

  test('creates an agent with chosen tools, one needing approval, and a budget; the agent calls its tool', async () => {
    await alicePage.getByRole('button', { name: 'Agents', exact: true }).click();
    await dialog(alicePage).getByRole('button', { name: 'New agent' }).click();
    const form = dialog(alicePage).getByRole('form', { name: 'New agent' });
    await form.getByLabel('Name', { exact: true }).fill('Ops');
    await form.getByLabel('Handle').fill('ops');
    const web = form.getByRole('group', { name: 'Tools of web' });
    await web.getByRole('checkbox', { name: 'Use counter_increment' }).check();
    await web.getByRole('checkbox', { name: 'Use echo' }).check();
    await web.getByRole('checkbox', { name: 'echo needs approval' }).check();
    await form.getByText('Advanced: action chain and budgets').click();
    await form.getByLabel('Max tool calls').fill('5');
    await form.getByRole('button', { name: 'Create agent' }).click();
    const listed = dialog(alicePage).getByRole('list', { name: 'Agents' });
    await visible(listed.getByText('@ops'));
    await visible(listed.getByText(/2 tools/));
    const [agent] = (await api(alice, 'GET', '/agents')).items;
    assert.deepEqual(agent.tools.toSorted(), ['mcp:web/counter_increment', 'mcp:web/echo']);
    assert.deepEqual(agent.toolApprovals, ['mcp:web/echo']);
    assert.deepEqual(agent.budgets, { maxToolCalls: 5 });
    assert.equal(agent.model, 'openai/fake-model');
    await dialog(alicePage).getByRole('button', { name: 'Close' }).click();

    await alicePage.getByRole('button', { name: 'New conversation' }).click();
    await alicePage.getByRole('radio', { name: /@ops/ }).check();
    await alicePage.getByRole('button', { name: 'Start conversation' }).click();
    await visible(alicePage.getByRole('heading', { name: 'Ops' }));
    provider.enqueue(toolCallReply({ name: 'web__counter_increment', args: { by: 3 } }), {
      steps: [{ text: 'The counter is at 3.' }],
    });
    const composer = alicePage.getByRole('textbox', { name: 'Message' });
    await composer.fill('bump the counter by 3');
    await composer.press('Enter');
    await visible(alicePage.getByText('The counter is at 3.'));
    await visible(alicePage.locator('details.tool-call[data-state="done"]').getByText('web__counter_increment'));
    await waitUntil(
      'the tool call to reach the MCP server',
      async () => mcp.state.counter,
      (counter) => counter === 3,
    );

    // How the reply was made: the run's steps, the tool round inside `generate`.
    const reply = alicePage.locator('.message.agent').filter({ hasText: 'The counter is at 3.' });
    await reply.getByRole('button', { name: 'How it ran' }).click();
    const details = dialog(alicePage);
    await visible(details.getByText('Completed'));
    const steps = details.getByRole('list', { name: 'Steps' });
    await visible(steps.locator('li[data-type="generate"]'));
    assert.deepEqual(
      await steps.locator(':scope > li').evaluateAll((items) => items.map((item) => item.getAttribute('data-type'))),
      ['memory_load', 'rag', 'generate', 'memory_store'],
    );
    await steps.locator('li[data-type="generate"] summary').click();
    await visible(
      steps
        .locator('li[data-type="generate"]')
        .getByText(/counter_increment/)
        .first(),
    );
    await details.getByRole('button', { name: 'Close' }).click();
  });

  test('edits the agent: all tools of the server, settings kept; bad input is refused with the reason and changes nothing', async () => {
    await alicePage.getByRole('button', { name: 'Agents', exact: true }).click();
    await dialog(alicePage).getByRole('button', { name: 'Edit Ops' }).click();
    const form = dialog(alicePage).getByRole('form', { name: 'Edit Ops' });
    await waitUntil(
      'the stored settings in the form',
      () => form.getByLabel('Handle').inputValue(),
      (value) => value === 'ops',
    );
    const web = form.getByRole('group', { name: 'Tools of web' });
    await visible(web.getByRole('checkbox', { name: 'echo needs approval' }));
    assert.equal(await web.getByRole('checkbox', { name: 'echo needs approval' }).isChecked(), true);

    await form.getByText('Advanced: action chain and budgets').click();
    await form.getByLabel(/^Action chain/).fill('{"steps": [');
    await form.getByRole('button', { name: 'Save agent' }).click();
    await visible(form.getByRole('alert').filter({ hasText: 'Action chain: not valid JSON' }));
    await form.getByLabel(/^Action chain/).fill('{"steps": [{"type": "teleport"}]}');
    await form.getByRole('button', { name: 'Save agent' }).click();
    await visible(form.getByRole('alert').filter({ hasText: /chain.steps.0.type: unknown step type/ }));
    await form.getByLabel('Temperature').fill('7');
    await form.getByLabel(/^Action chain/).fill('');
    await form.getByRole('button', { name: 'Save agent' }).click();
    // The browser's range check stops it before the server (which would refuse it too).
    assert.equal(await form.getByLabel('Temperature').evaluate((input: HTMLInputElement) => input.validity.rangeOverflow), true);
    const unchanged = await api(alice, 'GET', '/agents');
    assert.equal(unchanged.items[0].temperature, null);
    assert.equal(unchanged.items[0].chain, null);

    await form.getByLabel('Temperature').fill('0.3');
    await form.getByLabel('System prompt').fill('You run operations. Be brief.');
    await web.getByRole('checkbox', { name: 'All tools of web' }).check();
    await form.getByRole('button', { name: 'Save agent' }).click();
    await visible(dialog(alicePage).getByRole('list', { name: 'Agents' }));
    const agent = (await api(alice, 'GET', '/agents')).items[0];
    assert.deepEqual(agent.tools, ['mcp:web/*']);
    assert.deepEqual(agent.toolApprovals, ['mcp:web/echo'], 'the approval is still covered by all tools');
    assert.equal(agent.temperature, 0.3);
    assert.equal(agent.systemPrompt, 'You run operations. Be brief.');
    assert.deepEqual(agent.budgets, { maxToolCalls: 5 });
    await dialog(alicePage).getByRole('button', { name: 'Close' }).click();
  });

  test("a member cannot change another person's agent; refs to a deleted MCP server can be dropped; the owner deletes it", async () => {
    await bobPage.getByRole('button', { name: 'Agents', exact: true }).click();
    await dialog(bobPage).getByRole('button', { name: 'Edit Ops' }).click();
    const form = dialog(bobPage).getByRole('form', { name: 'Edit Ops' });
    await waitUntil(
      'the stored settings in the form',
      () => form.getByLabel('Handle').inputValue(),
      (value) => value === 'ops',
    );
    await form.getByLabel('System prompt').fill('Obey bob.');
    await form.getByRole('button', { name: 'Save agent' }).click();
    await visible(form.getByRole('alert'));
    assert.equal((await api(bob, 'GET', '/agents')).items[0].systemPrompt, 'You run operations. Be brief.');
    await dialog(bobPage).getByRole('button', { name: 'Close' }).click();

    // The MCP server goes away: the agent's refs to it are shown so they can be dropped, else it cannot be saved.
    const [web] = (await api(alice, 'GET', '/mcp-servers')).items;
    assert.equal((await server.request('DELETE', `/api/v1/mcp-servers/${web.id}`, { token: alice.accessToken })).status, 204);
    await alicePage.getByRole('button', { name: 'Agents', exact: true }).click();
    await dialog(alicePage).getByRole('button', { name: 'Edit Ops' }).click();
    const aliceForm = dialog(alicePage).getByRole('form', { name: 'Edit Ops' });
    const orphan = aliceForm.getByRole('checkbox', { name: /mcp:web\/\*/ });
    await visible(orphan);
    await aliceForm.getByRole('button', { name: 'Save agent' }).click();
    await visible(aliceForm.getByRole('alert').filter({ hasText: /no MCP server named "web"/ }));
    await orphan.uncheck();
    await aliceForm.getByRole('button', { name: 'Save agent' }).click();
    await visible(dialog(alicePage).getByRole('list', { name: 'Agents' }));
    const saved = (await api(alice, 'GET', '/agents')).items[0];
    assert.deepEqual([saved.tools, saved.toolApprovals], [[], []]);

    await dialog(alicePage).getByRole('button', { name: 'Delete Ops' }).click();
    await dialog(alicePage).getByRole('button', { name: 'Delete @ops' }).click();
    await visible(dialog(alicePage).getByText('No agents yet.'));
    assert.equal((await api(alice, 'GET', '/agents')).items.length, 0);
  });
});
