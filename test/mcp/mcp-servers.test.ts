import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { mcpServers } from '../../src/mcp/schema.ts';
import { testDatabases } from '../support/databases.ts';
import { startMcpWorld, waitFor, type McpWorld } from './support.ts';

for (const database of testDatabases()) {
  describe(`MCP servers API on ${database.name}`, () => {
    let world: McpWorld;
    let bob: any;
    let other: any;

    before(async () => {
      world = await startMcpWorld({
        requireHeader: { name: 'x-api-key', value: 'sekret-123' },
        databaseUrl: await database.createUrl(),
      });
      bob = await world.server.join(world.alice, 'bob');
      other = await world.server.register('globex', 'olga');
    });
    after(() => world.close());

    it('creates, reads, updates and deletes a server without ever returning header values', async () => {
      const created = await world.call('POST', '/mcp-servers', {
        name: 'tools',
        url: world.mcp.url,
        headers: { 'x-api-key': 'sekret-123' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.transport, 'streamable-http');
      assert.equal(created.body.source, 'api');
      assert.deepEqual(created.body.headerNames, ['x-api-key']);
      assert.doesNotMatch(JSON.stringify(created.body), /sekret/);

      const [row] = await world.server.context.db.select().from(mcpServers).where(eq(mcpServers.id, created.body.id));
      assert.ok(row!.headersEncrypted?.startsWith('v1.'));
      assert.doesNotMatch(row!.headersEncrypted!, /sekret/);

      const listed = await world.call('GET', '/mcp-servers');
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.items.map((item: any) => [item.name, item.source, item.transport]),
        [
          ['local', 'config', 'stdio'],
          ['tools', 'api', 'streamable-http'],
        ],
      );
      assert.doesNotMatch(JSON.stringify(listed.body), /sekret/);

      // The decrypted header reaches the server (it answers 401 without it).
      const tools = await world.call('GET', `/mcp-servers/${created.body.id}/tools`);
      assert.equal(tools.status, 200, JSON.stringify(tools.body));
      assert.equal(world.mcp.state.lastHeaders['x-api-key'], 'sekret-123');

      const renamed = await world.call('PATCH', `/mcp-servers/${created.body.id}`, { name: 'renamed', enabled: false });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'renamed');
      assert.equal(renamed.body.enabled, false);
      const disabled = await world.call('GET', `/mcp-servers/${created.body.id}/tools`);
      assert.equal(disabled.status, 400);

      assert.equal((await world.call('DELETE', `/mcp-servers/${created.body.id}`)).status, 204);
      assert.equal((await world.call('GET', `/mcp-servers/${created.body.id}`)).status, 404);
    });

    it('refuses a second server with the same name, or the name of a config server', async () => {
      const first = await world.call('POST', '/mcp-servers', { name: 'dup', url: world.mcp.url });
      assert.equal(first.status, 201);
      assert.equal((await world.call('POST', '/mcp-servers', { name: 'dup', url: world.mcp.url })).status, 409);
      assert.equal((await world.call('POST', '/mcp-servers', { name: 'local', url: world.mcp.url })).status, 409);
      await world.call('DELETE', `/mcp-servers/${first.body.id}`);
    });

    it('refuses stdio and unknown transports from the API', async () => {
      const stdio = await world.call('POST', '/mcp-servers', { name: 'shell', transport: 'stdio', url: world.mcp.url });
      assert.equal(stdio.status, 400);
      assert.equal(stdio.body.error.code, 'invalid_request');
      assert.match(stdio.body.error.message, /config file/);
      assert.equal((await world.call('POST', '/mcp-servers', { name: 'x', transport: 'ws', url: world.mcp.url })).status, 400);
      assert.equal((await world.call('PATCH', '/mcp-servers/config:local', { enabled: false })).status, 400);
      assert.equal((await world.call('DELETE', '/mcp-servers/config:local')).status, 400);
    });

    it('refuses loopback and private URLs that are not allow-listed', async () => {
      const loopbackOtherPort = await world.call('POST', '/mcp-servers', { name: 'ssrf', url: 'http://127.0.0.1:1/mcp' });
      assert.equal(loopbackOtherPort.status, 403);
      assert.equal(loopbackOtherPort.body.error.code, 'forbidden');
      assert.match(loopbackOtherPort.body.error.message, /loopback/);
      const metadata = await world.call('POST', '/mcp-servers', { name: 'ssrf', url: 'http://169.254.169.254/latest' });
      assert.equal(metadata.status, 403);
      assert.match(metadata.body.error.message, /link-local/);
      const localhost = await world.call('POST', '/mcp-servers', { name: 'ssrf', url: 'http://localhost:1/mcp' });
      assert.equal(localhost.status, 403);
      assert.equal((await world.call('POST', '/mcp-servers', { name: 'ssrf', url: 'file:///etc/passwd' })).status, 400);
    });

    it('lets members list but not manage or call; other workspaces see 404', async () => {
      const created = await world.call('POST', '/mcp-servers', {
        name: 'shared',
        url: world.mcp.url,
        headers: { 'x-api-key': 'sekret-123' },
      });
      const id = created.body.id;
      assert.equal((await world.call('GET', '/mcp-servers', undefined, bob.accessToken)).status, 200);
      assert.equal((await world.call('GET', `/mcp-servers/${id}/tools`, undefined, bob.accessToken)).status, 200);
      const forbidden = await world.call('POST', '/mcp-servers', { name: 'bobs', url: world.mcp.url }, bob.accessToken);
      assert.equal(forbidden.status, 403);
      assert.equal((await world.call('PATCH', `/mcp-servers/${id}`, { enabled: false }, bob.accessToken)).status, 403);
      assert.equal((await world.call('DELETE', `/mcp-servers/${id}`, undefined, bob.accessToken)).status, 403);
      assert.equal(
        (await world.call('POST', `/mcp-servers/${id}/tools/echo/call`, { arguments: {} }, bob.accessToken)).status,
        403,
      );

      assert.equal((await world.call('GET', `/mcp-servers/${id}`, undefined, other.accessToken)).status, 404);
      assert.equal((await world.call('GET', `/mcp-servers/${id}/tools`, undefined, other.accessToken)).status, 404);
      assert.equal(
        (await world.call('POST', `/mcp-servers/${id}/tools/echo/call`, { arguments: {} }, other.accessToken)).status,
        404,
      );
      assert.equal((await world.call('DELETE', `/mcp-servers/${id}`, undefined, other.accessToken)).status, 404);
      const otherList = await world.call('GET', '/mcp-servers', undefined, other.accessToken);
      assert.deepEqual(
        otherList.body.items.map((item: any) => item.name),
        ['local'],
      );
      await world.call('DELETE', `/mcp-servers/${id}`);
    });

    it('lists tools, calls them directly and refreshes the catalogue on tools/list_changed', async () => {
      const created = await world.call('POST', '/mcp-servers', {
        name: 'calls',
        url: world.mcp.url,
        headers: { 'x-api-key': 'sekret-123' },
      });
      const id = created.body.id;
      const tools = await world.call('GET', `/mcp-servers/${id}/tools`);
      assert.deepEqual(
        tools.body.items.map((tool: any) => tool.name),
        ['echo', 'fail', 'throw', 'hang', 'add_tool', 'counter_increment'],
      );
      assert.equal(tools.body.items[0].inputSchema.type, 'object');

      const echo = await world.call('POST', `/mcp-servers/${id}/tools/echo/call`, { arguments: { hello: 'world' } });
      assert.equal(echo.status, 200);
      assert.deepEqual(echo.body.content, [{ type: 'text', text: '{"hello":"world"}' }]);
      assert.equal(echo.body.isError, false);

      const counted = await world.call('POST', `/mcp-servers/${id}/tools/counter_increment/call`, { arguments: { by: 2 } });
      assert.equal(counted.body.content[0].text, '2');
      assert.equal(world.mcp.state.counter, 2);

      const failed = await world.call('POST', `/mcp-servers/${id}/tools/fail/call`, { arguments: { message: 'nope' } });
      assert.equal(failed.status, 200);
      assert.equal(failed.body.isError, true);
      assert.equal(failed.body.content[0].text, 'nope');

      const thrown = await world.call('POST', `/mcp-servers/${id}/tools/throw/call`, { arguments: {} });
      assert.equal(thrown.status, 502);
      assert.equal(thrown.body.error.code, 'provider_error');
      assert.match(thrown.body.error.message, /"calls" answered tools\/call throw with an error: boom/);

      assert.equal((await world.call('POST', `/mcp-servers/${id}/tools/missing/call`, { arguments: {} })).status, 404);

      const added = await world.call('POST', `/mcp-servers/${id}/tools/add_tool/call`, { arguments: { name: 'fresh_tool' } });
      assert.equal(added.status, 200);
      await waitFor(async () => {
        const [row] = await world.server.context.db.select().from(mcpServers).where(eq(mcpServers.id, id));
        return row!.tools?.some((tool) => tool.name === 'fresh_tool') ?? false;
      });
      const after = await world.call('GET', `/mcp-servers/${id}/tools`);
      assert.ok(after.body.items.some((tool: any) => tool.name === 'fresh_tool'));
      const viaNewTool = await world.call('POST', `/mcp-servers/${id}/tools/fresh_tool/call`, { arguments: { n: 1 } });
      assert.equal(viaNewTool.body.content[0].text, '{"n":1}');
      await world.call('DELETE', `/mcp-servers/${id}`);
    });

    it('talks to the config-file stdio server', async () => {
      const tools = await world.call('GET', '/mcp-servers/config:local/tools');
      assert.equal(tools.status, 200, JSON.stringify(tools.body));
      assert.ok(tools.body.items.some((tool: any) => tool.name === 'echo'));
      const echo = await world.call('POST', '/mcp-servers/config:local/tools/echo/call', { arguments: { via: 'stdio' } });
      assert.equal(echo.body.content[0].text, '{"via":"stdio"}');
      const counted = await world.call('POST', '/mcp-servers/config:local/tools/counter_increment/call', { arguments: {} });
      assert.equal(counted.body.content[0].text, '1');
      const listed = await world.call('GET', '/mcp-servers/config:local');
      assert.equal(listed.body.source, 'config');
      assert.equal(listed.body.toolCount, 6);
      assert.equal((await world.call('GET', '/mcp-servers/config:nope')).status, 404);
    });

    it('answers 502 with the server named when it is down', async () => {
      const created = await world.call('POST', '/mcp-servers', { name: 'down', url: world.downUrl });
      assert.equal(created.status, 201);
      const tools = await world.call('GET', `/mcp-servers/${created.body.id}/tools`);
      assert.equal(tools.status, 502);
      assert.equal(tools.body.error.code, 'provider_error');
      assert.match(tools.body.error.message, /MCP server "down" is unreachable/);
      await world.call('DELETE', `/mcp-servers/${created.body.id}`);
    });
  });
}
