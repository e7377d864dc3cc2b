import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EventLog } from '../agents/support.ts';
import { startFakeOpenAI, toolCallReply } from '../support/fake-providers.ts';
import { startHttpMcpServer } from '../support/mcp-server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { chainEnv, writeMcpConfig } from './support.ts';

describe('a paused run across a server restart', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-paused-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('survives the restart untouched by recovery and resumes when approved', async () => {
    const provider = await startFakeOpenAI();
    const mcp = await startHttpMcpServer();
    const env = {
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: provider.url,
      CHORUS_DEFAULT_MODEL: 'openai/fake-model',
      ...chainEnv(writeMcpConfig(), [new URL(mcp.url).host]),
    };
    let server: TestServer | undefined = await startTestServer({ dataDir, env });
    try {
      const alice = await server.register('restart', 'alice');
      const call = (target: TestServer, method: string, pathname: string, body?: unknown) =>
        target.request(method, `/api/v1${pathname}`, { token: alice.accessToken, body });
      assert.equal((await call(server, 'POST', '/mcp-servers', { name: 'web', url: mcp.url })).status, 201);
      const agent = (
        await call(server, 'POST', '/agents', {
          handle: 'careful',
          tools: ['mcp:web/*'],
          toolApprovals: ['mcp:web/*'],
        })
      ).body;
      const conversationId = (
        await call(server, 'POST', '/conversations', { kind: 'direct', members: [{ type: 'agent', id: agent.id }] })
      ).body.id;
      let log = new EventLog(server, conversationId);
      provider.enqueue(toolCallReply({ name: 'web__counter_increment', args: { by: 7 } }));
      await call(server, 'POST', `/conversations/${conversationId}/messages`, { content: 'add seven' });
      const frame: any = await log.waitFor((event) => event.type === 'human.request');
      await log.done();
      log.stop();

      await server.close();
      server = await startTestServer({ dataDir, env });
      const run = await call(server, 'GET', `/runs/${frame.runId}`);
      assert.equal(run.body.status, 'waiting', 'recovery left the waiting run alone');
      const history = await call(server, 'GET', `/conversations/${conversationId}/messages`);
      assert.deepEqual(
        history.body.items.map((message: any) => message.status),
        ['complete', 'complete', 'complete'],
        'no message was marked interrupted',
      );

      log = new EventLog(server, conversationId);
      provider.enqueue({ steps: [{ text: 'Seven added after the restart.' }] });
      const approved = await call(server, 'POST', `/runs/${frame.runId}/approvals/${frame.request.requestId}`, {
        decision: 'approve',
        argsHash: frame.request.argsHash,
      });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      const done = await log.done();
      log.stop();
      assert.equal(done.content, 'Seven added after the restart.');
      assert.equal(mcp.state.counter, 7);
      assert.equal((await call(server, 'GET', `/runs/${frame.runId}`)).body.status, 'completed');
      // The resumed round saw the approved call and its result.
      const tool = provider.requests.at(-1)!.body.messages.find((message: any) => message.role === 'tool');
      assert.equal(tool.content, '7');
    } finally {
      await server?.close();
      await mcp.close();
      await provider.close();
    }
  });
});
