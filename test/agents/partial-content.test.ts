import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../src/db/database.ts';
import { appendMessage } from '../../src/messages/messages.ts';
import { PartialContentWriter } from '../../src/runs/partial-content-writer.ts';
import { finishMessage } from '../../src/runs/run-store.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

for (const database of testDatabases()) {
  describe(`partial content of streaming replies on ${database.name}`, () => {
    let server: TestServer;
    let conversationId: string;
    let workspaceId: string;
    let token: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      const alice = await server.register('acme', 'alice');
      workspaceId = alice.workspace.id;
      token = alice.accessToken;
      conversationId = (
        await server.request('POST', '/api/v1/conversations', { token: alice.accessToken, body: { kind: 'group' } })
      ).body.id;
    });
    after(() => server.close());

    const streamingMessage = async () =>
      (
        await appendMessage(server.context, {
          workspaceId,
          conversationId,
          sender: { type: 'agent', id: uuidv7(), handle: 'bot' },
          content: '',
          status: 'streaming',
        })
      ).message;

    const contentOf = async (messageId: string) => {
      const history = await server.request('GET', `/api/v1/conversations/${conversationId}/messages?limit=200`, { token });
      return history.body.items.find((message: { id: string }) => message.id === messageId);
    };

    it('writes the latest content of many replies saved in one turn with one statement', async () => {
      let statements = 0;
      const counting = {
        execute: (query: unknown) => (statements++, server.context.db.execute(query as never)),
      } as unknown as Executor;
      const writer = new PartialContentWriter(counting);
      const replies = await Promise.all([streamingMessage(), streamingMessage(), streamingMessage()]);
      await Promise.all([
        writer.save(replies[0].id, 'a'),
        writer.save(replies[1].id, 'b'),
        writer.save(replies[0].id, 'a, then more'),
        writer.save(replies[2].id, 'c'),
      ]);
      assert.equal(statements, 1);
      assert.equal((await contentOf(replies[0].id)).content, 'a, then more');
      assert.equal((await contentOf(replies[1].id)).content, 'b');
      assert.equal((await contentOf(replies[2].id)).content, 'c');
    });

    it('never overwrites a reply that already ended', async () => {
      const writer = new PartialContentWriter(server.context.db);
      const reply = await streamingMessage();
      await finishMessage(server.context.db, reply.id, { content: 'final', status: 'complete', error: null, usage: null });
      await writer.save(reply.id, 'stale partial');
      const stored = await contentOf(reply.id);
      assert.equal(stored.content, 'final');
      assert.equal(stored.status, 'complete');
    });
  });
}
