import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { AppError } from '../../src/errors/app-error.ts';
import { McpConnection } from '../../src/mcp/mcp-connection.ts';
import { createGuardedFetch } from '../../src/net/guarded-fetch.ts';
import { createOutboundPolicy } from '../../src/net/url-policy.ts';
import { startHttpMcpServer, type HttpMcpTestServer } from '../support/mcp-server.ts';

describe('MCP connection', () => {
  let server: HttpMcpTestServer;
  before(async () => {
    server = await startHttpMcpServer();
  });
  after(() => server.close());

  const connect = (allow: string[]) =>
    new McpConnection({
      name: 'probe',
      target: {
        transport: 'streamable-http',
        url: server.url,
        headers: {},
        fetch: createGuardedFetch(createOutboundPolicy(allow)),
      },
      timeoutMs: 5_000,
      logger: pino({ level: 'silent' }),
      onToolsChanged: () => {},
    });

  it('re-checks the URL policy at request time, not only when the URL was saved', async () => {
    const refused = connect([]);
    await assert.rejects(refused.listTools(), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'forbidden');
      assert.match(error.message, /loopback/);
      return true;
    });
    await refused.close();
    const allowed = connect([new URL(server.url).host]);
    assert.ok((await allowed.listTools()).some((tool) => tool.name === 'echo'));
    await allowed.close();
    await assert.rejects(allowed.listTools(), /was closed/);
  });
});
