import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from './support/databases.ts';
import { startTestServer, type Session, type TestServer } from './support/server.ts';

for (const database of testDatabases()) {
  describe(`messages on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let bob: Session;
    let conversationId: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      const created = await server.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', title: 'general', members: [{ type: 'user', id: bob.user.id }] },
      });
      assert.equal(created.status, 201);
      conversationId = created.body.id;
    });
    after(() => server.close());

    const send = (session: Session, body: Record<string, unknown>) =>
      server.request('POST', `/api/v1/conversations/${conversationId}/messages`, { token: session.accessToken, body });

    it('assigns contiguous unique seqs to 50 parallel sends', async () => {
      const before = (await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: alice.accessToken })).body
        .lastSeq;
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, index) => send(index % 2 ? alice : bob, { content: `message ${index}` })),
      );
      for (const response of responses) assert.equal(response.status, 201, JSON.stringify(response.body));
      const seqs = responses.map((response) => response.body.seq).sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: 50 }, (_, index) => before + index + 1),
      );
      const history = await server.request(
        'GET',
        `/api/v1/conversations/${conversationId}/messages?afterSeq=${before}&limit=100`,
        {
          token: bob.accessToken,
        },
      );
      assert.deepEqual(
        history.body.items.map((message: { seq: number }) => message.seq),
        seqs,
      );
    });

    it('returns the first message for a repeated clientMsgId and 409 for different content', async () => {
      const first = await send(alice, { content: 'hello', clientMsgId: 'c-1' });
      assert.equal(first.status, 201);
      const again = await send(alice, { content: 'hello', clientMsgId: 'c-1' });
      assert.equal(again.status, 200);
      assert.equal(again.body.id, first.body.id);
      assert.equal(again.body.seq, first.body.seq);
      const conflicting = await send(alice, { content: 'other', clientMsgId: 'c-1' });
      assert.equal(conflicting.status, 409);
      assert.equal(conflicting.body.error.code, 'conflict');
      const otherSender = await send(bob, { content: 'hello', clientMsgId: 'c-1' });
      assert.equal(otherSender.status, 201, 'the id is scoped to its sender');
    });

    it('stores one message for a clientMsgId raced in parallel', async () => {
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => send(alice, { content: 'race', clientMsgId: 'race-1' })),
      );
      const ids = new Set(responses.map((response) => response.body.id));
      assert.equal(ids.size, 1);
      assert.equal(responses.filter((response) => response.status === 201).length, 1);
    });

    it('pages history by seq in ascending order', async () => {
      const latest = await server.request('GET', `/api/v1/conversations/${conversationId}/messages?limit=5`, {
        token: alice.accessToken,
      });
      assert.equal(latest.body.items.length, 5);
      const seqs = latest.body.items.map((message: { seq: number }) => message.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      const older = await server.request('GET', `/api/v1/conversations/${conversationId}/messages?beforeSeq=${seqs[0]}&limit=3`, {
        token: alice.accessToken,
      });
      assert.deepEqual(
        older.body.items.map((message: { seq: number }) => message.seq),
        [seqs[0] - 3, seqs[0] - 2, seqs[0] - 1],
      );
      assert.equal(older.body.hasMore, true);
    });

    it('refuses a 2 MB message and a too-long message without storing them', async () => {
      const before = (await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: alice.accessToken })).body
        .lastSeq;
      const huge = await send(alice, { content: 'x'.repeat(2 * 1024 * 1024) });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, 'payload_too_large');
      const long = await send(alice, { content: 'x'.repeat(100 * 1024) });
      assert.equal(long.status, 413);
      const afterwards = (await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: alice.accessToken }))
        .body.lastSeq;
      assert.equal(afterwards, before);
    });

    it('tracks read cursors and unread counts in the inbox ordered by activity', async () => {
      const other = await server.request('POST', '/api/v1/conversations', {
        token: bob.accessToken,
        body: { kind: 'direct', members: [{ type: 'user', id: alice.user.id }] },
      });
      assert.equal(other.status, 201);
      await server.request('POST', `/api/v1/conversations/${other.body.id}/messages`, {
        token: bob.accessToken,
        body: { content: 'psst' },
      });
      const inbox = await server.request('GET', '/api/v1/conversations', { token: alice.accessToken });
      assert.equal(inbox.body.items[0].id, other.body.id, 'most recent activity first');
      assert.equal(inbox.body.items[0].unreadCount, 1);
      assert.equal(inbox.body.items[0].lastMessage.content, 'psst');
      const read = await server.request('POST', `/api/v1/conversations/${other.body.id}/read`, {
        token: alice.accessToken,
        body: { seq: 1 },
      });
      assert.equal(read.body.lastReadSeq, 1);
      const after = await server.request('GET', '/api/v1/conversations', { token: alice.accessToken });
      assert.equal(after.body.items[0].unreadCount, 0);
      const again = await server.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'direct', members: [{ type: 'user', id: bob.user.id }] },
      });
      assert.equal(again.status, 200, 'a direct conversation is unique per pair');
      assert.equal(again.body.id, other.body.id);
    });

    it('threads replies under a top-level message of the same conversation', async () => {
      const root = await send(alice, { content: 'root' });
      const reply = await send(bob, { content: 'reply', threadRootId: root.body.id });
      assert.equal(reply.status, 201);
      assert.equal(reply.body.threadRootId, root.body.id);
      const nested = await send(bob, { content: 'nested', threadRootId: reply.body.id });
      assert.equal(nested.status, 400);
    });
  });
}
