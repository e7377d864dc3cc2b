import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

for (const database of testDatabases()) {
  describe(`threads and reactions on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let bob: Session;
    let conversationId: string;
    let otherConversationId: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      const created = await server.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', title: 'general', members: [{ type: 'user', id: bob.user.id }] },
      });
      conversationId = created.body.id;
      const other = await server.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', title: 'alone', members: [] },
      });
      otherConversationId = other.body.id;
    });
    after(() => server.close());

    const call = (method: string, path: string, session: Session, body?: unknown) =>
      server.request(method, `/api/v1${path}`, { token: session.accessToken, body });
    const send = async (session: Session, content: string, extra: Record<string, unknown> = {}, target = conversationId) => {
      const response = await call('POST', `/conversations/${target}/messages`, session, { content, ...extra });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body;
    };

    it('keeps replyCount and lastReplyAt on the root and pages the thread', async () => {
      const watcher = await TestClient.connect(server, alice.accessToken);
      try {
        const root = await send(alice, 'root');
        const replies: any[] = [];
        for (let index = 0; index < 3; index++) replies.push(await send(bob, `reply ${index}`, { threadRootId: root.id }));
        const live = await watcher.take(
          (frame) => frame.type === 'message.updated' && frame.message.id === root.id && frame.message.replyCount === 3,
        );
        assert.equal(live.message.lastReplyAt, replies[2].createdAt);
        const reply = await watcher.take((frame) => frame.type === 'message' && frame.message.id === replies[0].id);
        assert.equal(reply.message.threadRootId, root.id, 'replies arrive live like other messages');

        const first = await call('GET', `/messages/${root.id}/thread?limit=2`, bob);
        assert.equal(first.status, 200);
        assert.equal(first.body.root.replyCount, 3);
        assert.deepEqual(
          first.body.items.map((item: any) => item.content),
          ['reply 0', 'reply 1'],
        );
        assert.equal(first.body.hasMore, true);
        const second = await call('GET', `/messages/${root.id}/thread?limit=2&afterSeq=${first.body.items[1].seq}`, bob);
        assert.deepEqual(
          second.body.items.map((item: any) => item.content),
          ['reply 2'],
        );
        assert.equal(second.body.hasMore, false);

        await call('DELETE', `/messages/${replies[2].id}`, bob);
        const after = await call('GET', `/messages/${root.id}/thread`, bob);
        assert.equal(after.body.root.replyCount, 2, 'a deleted reply no longer counts');
        assert.equal(after.body.root.lastReplyAt, replies[1].createdAt);

        assert.equal((await call('GET', `/messages/${replies[0].id}/thread`, bob)).status, 400, 'a reply has no thread');
      } finally {
        await watcher.close();
      }
    });

    it('takes thread replies over WebSocket send, live to others and replayed by sync', async () => {
      const replier = await TestClient.connect(server, bob.accessToken);
      const watcher = await TestClient.connect(server, alice.accessToken);
      try {
        const root = await send(alice, 'root for sockets');
        const ack = await replier.request({
          type: 'send',
          conversationId,
          clientMsgId: 'thread-ws-1',
          content: 'reply over a socket',
          threadRootId: root.id,
        });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        assert.equal(ack.message.threadRootId, root.id);
        const live = await watcher.take((frame) => frame.type === 'message' && frame.message.id === ack.message.id);
        assert.equal(live.message.threadRootId, root.id);
        await watcher.take(
          (frame) => frame.type === 'message.updated' && frame.message.id === root.id && frame.message.replyCount === 1,
        );
        const refused = await replier.request({
          type: 'send',
          conversationId,
          clientMsgId: 'thread-ws-2',
          content: 'reply to a reply',
          threadRootId: ack.message.id,
        });
        assert.equal(refused.type, 'error');
        assert.equal(refused.code, 'invalid_request');

        const away = await TestClient.connect(server, alice.accessToken);
        try {
          const synced = await away.request({ type: 'sync', conversationId, afterSeq: root.seq });
          assert.equal(synced.type, 'ack', JSON.stringify(synced));
          const replayed = away.frames.filter((frame) => frame.type === 'message').map((frame) => frame.message);
          assert.deepEqual(
            replayed.map((message) => [message.id, message.threadRootId]),
            [[ack.message.id, root.id]],
            'a reply is in the same seq log as other messages',
          );
        } finally {
          await away.close();
        }
      } finally {
        await replier.close();
        await watcher.close();
      }
    });

    it('refuses a thread root from another conversation or a reply as root, storing nothing', async () => {
      const elsewhere = await send(alice, 'elsewhere', {}, otherConversationId);
      const before = (await call('GET', `/conversations/${conversationId}`, alice)).body.lastSeq;
      const foreign = await call('POST', `/conversations/${conversationId}/messages`, alice, {
        content: 'x',
        threadRootId: elsewhere.id,
      });
      assert.equal(foreign.status, 404);
      assert.equal((await call('GET', `/conversations/${conversationId}`, alice)).body.lastSeq, before);
      assert.equal((await call('GET', `/messages/${elsewhere.id}/thread`, bob)).status, 404, 'not visible to a non-member');
    });

    it('counts reactions per emoji with who reacted, idempotently, live', async () => {
      const watcher = await TestClient.connect(server, bob.accessToken);
      try {
        const message = await send(alice, 'react to me');
        const thumbs = encodeURIComponent('👍🏽');
        const first = await call('PUT', `/messages/${message.id}/reactions/${thumbs}`, alice);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        await call('PUT', `/messages/${message.id}/reactions/${thumbs}`, alice);
        const ack = await watcher.request({ type: 'react', messageId: message.id, emoji: '👍🏽' });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        await call('PUT', `/messages/${message.id}/reactions/:tada:`, bob);
        const shown = (await call('GET', `/messages/${message.id}/thread`, alice)).body.root.reactions;
        assert.deepEqual(shown, [
          { emoji: '👍🏽', count: 2, userIds: [alice.user.id, bob.user.id] },
          { emoji: ':tada:', count: 1, userIds: [bob.user.id] },
        ]);
        await watcher.take(
          (frame) => frame.type === 'message.updated' && frame.message.id === message.id && frame.message.reactions.length === 2,
        );
        const removed = await call('DELETE', `/messages/${message.id}/reactions/${thumbs}`, alice);
        assert.deepEqual(removed.body.reactions[0], { emoji: '👍🏽', count: 1, userIds: [bob.user.id] });
      } finally {
        await watcher.close();
      }
    });

    it('refuses bad emoji and reactions from a member who left, changing nothing', async () => {
      const message = await send(alice, 'stay');
      for (const emoji of ['hello', '👍👍', ':no spaces:', 'a'.repeat(40)]) {
        const response = await call('PUT', `/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`, bob);
        assert.equal(response.status, 400, emoji);
        assert.equal(response.body.error.code, 'invalid_request');
      }
      const socket = await TestClient.connect(server, bob.accessToken);
      try {
        const badOverSocket = await socket.request({ type: 'react', messageId: message.id, emoji: 'hello' });
        assert.equal(badOverSocket.code, 'invalid_request');
        const left = await call('DELETE', `/conversations/${conversationId}/members/${bob.user.id}`, bob);
        assert.ok(left.status < 300, JSON.stringify(left.body));
        const afterLeaving = await call('PUT', `/messages/${message.id}/reactions/${encodeURIComponent('🎉')}`, bob);
        assert.equal(afterLeaving.status, 404);
        assert.equal(afterLeaving.body.error.code, 'not_found');
        const overSocket = await socket.request({ type: 'react', messageId: message.id, emoji: '🎉' });
        assert.equal(overSocket.type, 'error');
        assert.equal(overSocket.code, 'not_found');
      } finally {
        await socket.close();
      }
      const stored = (await call('GET', `/messages/${message.id}/thread`, alice)).body.root;
      assert.deepEqual(stored.reactions, []);
      assert.equal(stored.updatedSeq, 0);
    });
  });
}
