import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../src/errors/app-error.ts';
import type { McpFeature } from '../../src/mcp/mcp-feature.ts';
import { startHttpMcpServer, type HttpMcpTestServer } from '../support/mcp-server.ts';
import { startMcpWorld, waitFor, type McpWorld } from './support.ts';

describe('agent tools from MCP servers', () => {
  let world: McpWorld;
  let mcp: McpFeature;
  let workspaceId: string;

  before(async () => {
    world = await startMcpWorld({ env: { CHORUS_MCP_CALL_TIMEOUT_MS: '1500' } });
    mcp = world.server.context.mcp!;
    workspaceId = world.alice.workspace.id;
    assert.equal((await world.call('POST', '/mcp-servers', { name: 'web', url: world.mcp.url })).status, 201);
    assert.equal(
      (await world.call('POST', '/mcp-servers', { name: 'legacy', transport: 'sse', url: world.mcp.sseUrl })).status,
      201,
    );
    assert.equal((await world.call('POST', '/mcp-servers', { name: 'down', url: world.downUrl })).status, 201);
  });
  after(() => world.close());

  it('resolves named and wildcard refs over Streamable HTTP, SSE and stdio with model-safe unique names', async () => {
    const { tools, errors } = await mcp.resolveAgentTools(workspaceId, [
      'mcp:web/echo',
      'mcp:legacy/*',
      'mcp:local/counter_increment',
    ]);
    assert.deepEqual(errors, []);
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes('web__echo'));
    assert.ok(names.includes('legacy__hang'));
    assert.ok(names.includes('local__counter_increment'));
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^[A-Za-z0-9_-]{1,64}$/);
    const echo = tools.find((tool) => tool.name === 'web__echo')!;
    assert.equal(echo.ref, 'mcp:web/echo');
    assert.equal(echo.inputSchema.type, 'object');
    assert.deepEqual(await echo.call({ a: 1 }), {
      content: [{ type: 'text', text: '{"a":1}' }],
      isError: false,
      text: '{"a":1}',
    });
    const viaSse = tools.find((tool) => tool.name === 'legacy__echo')!;
    assert.equal((await viaSse.call({ sse: true })).text, '{"sse":true}');
    const fail = tools.find((tool) => tool.name === 'legacy__fail')!;
    assert.deepEqual(await fail.call({}), {
      content: [{ type: 'text', text: 'this tool failed' }],
      isError: true,
      text: 'this tool failed',
    });
    const counter = tools.find((tool) => tool.name === 'local__counter_increment')!;
    assert.equal((await counter.call({ by: 5 })).text, '5');
  });

  it('reports a down server and bad refs as errors while the other tools still resolve', async () => {
    const { tools, errors } = await mcp.resolveAgentTools(workspaceId, [
      'mcp:down/*',
      'mcp:web/echo',
      'mcp:nope/x',
      'mcp:web/missing',
      'files/read',
    ]);
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ['web__echo'],
    );
    const byRef = Object.fromEntries(errors.map((error) => [error.ref, error.message]));
    assert.match(byRef['mcp:down/*']!, /MCP server "down" is unreachable/);
    assert.match(byRef['mcp:nope/x']!, /no MCP server named "nope"/);
    assert.match(byRef['mcp:web/missing']!, /has no tool "missing"/);
    assert.match(byRef['files/read']!, /not an MCP tool reference/);
  });

  it('times out a call that never answers and tells the server to cancel it', async () => {
    const { tools } = await mcp.resolveAgentTools(workspaceId, ['mcp:web/hang']);
    const cancelledBefore = world.mcp.state.hangsCancelled;
    const started = Date.now();
    await assert.rejects(tools[0]!.call({}), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'provider_error');
      assert.match(error.message, /"web" did not answer tools\/call hang within 1500 ms/);
      return true;
    });
    assert.ok(Date.now() - started >= 1400);
    await waitFor(() => world.mcp.state.hangsCancelled === cancelledBefore + 1);
    // The connection survives a timeout.
    const { tools: echo } = await mcp.resolveAgentTools(workspaceId, ['mcp:web/echo']);
    assert.equal((await echo[0]!.call({ ok: true })).text, '{"ok":true}');
  });

  it('aborts a call when the caller aborts', async () => {
    const { tools } = await mcp.resolveAgentTools(workspaceId, ['mcp:local/hang']);
    const controller = new AbortController();
    const call = tools[0]!.call({}, { signal: controller.signal });
    controller.abort(new Error('run cancelled'));
    await assert.rejects(call, /run cancelled/);
  });

  it('reconnects after the server went away and came back', async () => {
    let restartable: HttpMcpTestServer = await startHttpMcpServer();
    const port = Number(new URL(restartable.url).port);
    const isolated = await startMcpWorld({ env: { CHORUS_OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${port}` } });
    try {
      const created = await isolated.call('POST', '/mcp-servers', { name: 'flaky', url: restartable.url });
      assert.equal(created.status, 201);
      const echo = (args: unknown) =>
        isolated.call('POST', `/mcp-servers/${created.body.id}/tools/echo/call`, { arguments: args });
      assert.equal((await echo({ n: 1 })).status, 200);
      await restartable.close();
      const down = await echo({ n: 2 });
      assert.equal(down.status, 502);
      assert.equal(down.body.error.code, 'provider_error');
      restartable = await startHttpMcpServer({ port });
      const back = await echo({ n: 3 });
      assert.equal(back.status, 200, JSON.stringify(back.body));
      assert.equal(back.body.content[0].text, '{"n":3}');
    } finally {
      await isolated.close();
      await restartable.close();
    }
  });

  it('validates refs when an agent is saved without connecting', async () => {
    await mcp.validateToolRefs(workspaceId, ['mcp:web/echo', 'mcp:down/anything', 'mcp:local/*']);
    await assert.rejects(mcp.validateToolRefs(workspaceId, ['mcp:web/missing', 'mcp:ghost/x', 'bad']), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'invalid_request');
      assert.deepEqual(
        (error.details as Array<{ ref: string }>).map((detail) => detail.ref),
        ['mcp:web/missing', 'mcp:ghost/x', 'bad'],
      );
      return true;
    });
    const otherWorkspace = await world.server.register('initech', 'peter');
    await assert.rejects(mcp.validateToolRefs(otherWorkspace.workspace.id, ['mcp:web/echo']), /no MCP server named "web"/);
    await mcp.validateToolRefs(otherWorkspace.workspace.id, ['mcp:local/echo']);
  });
});
