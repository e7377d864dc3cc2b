import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SseReader, TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

for (const database of testDatabases()) {
  describe(`edit and delete on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session; // workspace owner
    let bob: Session;
    let carol: Session; // member of the workspace, not of the conversation
    let conversationId: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      carol = await server.join(alice, 'carol');
      const created = await server.request('POST', '/api/v1/conversations', {
        token: bob.accessToken,
        body: { kind: 'group', title: 'general', members: [{ type: 'user', id: alice.user.id }] },
      });
      conversationId = created.body.id;
    });
    after(() => server.close());

    const send = async (session: Session, content: string, extra: Record<string, unknown> = {}) => {
      const response = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: session.accessToken,
        body: { content, ...extra },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body;
    };
    const call = (method: string, path: string, session: Session, body?: unknown) =>
      server.request(method, `/api/v1${path}`, { token: session.accessToken, body });
    const history = async () =>
      (await call('GET', `/conversations/${conversationId}/messages?afterSeq=0&limit=200`, bob)).body.items as any[];

    it('lets the sender edit, refuses everyone else, and changes nothing when refused', async () => {
      const message = await send(bob, 'first draft');
      const edited = await call('PATCH', `/messages/${message.id}`, bob, { content: 'final' });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      assert.equal(edited.body.content, 'final');
      assert.equal(edited.body.seq, message.seq);
      assert.ok(edited.body.editedAt);
      assert.ok(edited.body.updatedSeq > 0);

      const byOther = await call('PATCH', `/messages/${message.id}`, alice, { content: 'hijack' });
      assert.equal(byOther.status, 403);
      assert.equal(byOther.body.error.code, 'forbidden');
      const byOutsider = await call('PATCH', `/messages/${message.id}`, carol, { content: 'hijack' });
      assert.equal(byOutsider.status, 404);
      const empty = await call('PATCH', `/messages/${message.id}`, bob, { content: '' });
      assert.equal(empty.status, 400);
      const huge = await call('PATCH', `/messages/${message.id}`, bob, { content: 'x'.repeat(100 * 1024) });
      assert.equal(huge.status, 413);
      const stored = (await history()).find((item) => item.id === message.id);
      assert.equal(stored.content, 'final');
      assert.equal(stored.updatedSeq, edited.body.updatedSeq);
    });

    it('deletes to a tombstone that keeps its seq; admins may delete, plain members only their own', async () => {
      const mine = await send(bob, 'oops');
      const alicesMessage = await send(alice, 'by the owner');
      const refused = await call('DELETE', `/messages/${alicesMessage.id}`, bob);
      assert.equal(refused.status, 403);
      const deleted = await call('DELETE', `/messages/${mine.id}`, bob);
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.content, '');
      assert.deepEqual(deleted.body.parts, []);
      assert.ok(deleted.body.deletedAt);
      assert.equal(deleted.body.seq, mine.seq);
      const editDeleted = await call('PATCH', `/messages/${mine.id}`, bob, { content: 'back' });
      assert.equal(editDeleted.status, 409);
      const byAdmin = await call('DELETE', `/messages/${mine.id}`, alice);
      assert.equal(byAdmin.status, 200, 'deleting a tombstone again is a no-op');
      const moderated = await send(bob, 'to be moderated');
      assert.equal((await call('DELETE', `/messages/${moderated.id}`, alice)).status, 200);
      const seqs = (await history()).map((item) => item.seq);
      assert.deepEqual(
        seqs,
        Array.from({ length: seqs.length }, (_, index) => index + 1),
        'history keeps every seq',
      );
    });

    it('answers 404 for a message of another workspace', async () => {
      const mallory = await server.register('other', 'mallory');
      const message = await send(bob, 'private');
      assert.equal((await call('PATCH', `/messages/${message.id}`, mallory, { content: 'x' })).status, 404);
      assert.equal((await call('DELETE', `/messages/${message.id}`, mallory)).status, 404);
    });

    it('sends message.updated live and over WebSocket edit and delete frames', async () => {
      const watcher = await TestClient.connect(server, alice.accessToken);
      const editor = await TestClient.connect(server, bob.accessToken);
      try {
        const message = await send(bob, 'live');
        const ack = await editor.request({ type: 'edit', messageId: message.id, content: 'live, edited' });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        assert.equal(ack.message.content, 'live, edited');
        const updated = await watcher.take((frame) => frame.type === 'message.updated' && frame.message.id === message.id);
        assert.equal(updated.message.content, 'live, edited');
        const refused = await watcher.request({ type: 'edit', messageId: message.id, content: 'nope' });
        assert.equal(refused.type, 'error');
        assert.equal(refused.code, 'forbidden');
        const deleted = await editor.request({ type: 'delete', messageId: message.id });
        assert.equal(deleted.message.deletedAt !== null, true);
        const tombstone = await watcher.take(
          (frame) => frame.type === 'message.updated' && frame.message.id === message.id && frame.message.deletedAt !== null,
        );
        assert.equal(tombstone.message.content, '');

        const bobs = await send(bob, 'moderated over a socket');
        const byAdmin = await watcher.request({ type: 'delete', messageId: bobs.id });
        assert.equal(byAdmin.type, 'ack', 'the workspace owner may delete it over WebSocket too');
        assert.notEqual(byAdmin.message.deletedAt, null);
        const alices = await send(alice, 'not yours to delete');
        const byMember = await editor.request({ type: 'delete', messageId: alices.id });
        assert.equal(byMember.code, 'forbidden');
        const forwardTombstone = await editor.request({ type: 'forward', messageId: message.id, conversationId });
        assert.equal(forwardTombstone.code, 'conflict');
        assert.equal((await history()).find((item) => item.id === alices.id).content, 'not yours to delete');
      } finally {
        await watcher.close();
        await editor.close();
      }
    });

    it('carries message.updated for edits and deletes over SSE too', async () => {
      const message = await send(bob, 'seen over SSE');
      const stream = await SseReader.open(`${server.url}/api/v1/conversations/${conversationId}/events`, {
        authorization: `Bearer ${alice.accessToken}`,
      });
      try {
        assert.equal(stream.status, 200);
        await call('PATCH', `/messages/${message.id}`, bob, { content: 'seen over SSE, edited' });
        const edited = await stream.take((event) => event.event === 'message.updated' && event.data.message.id === message.id);
        assert.equal(edited.data.message.content, 'seen over SSE, edited');
        await call('DELETE', `/messages/${message.id}`, bob);
        const deleted = await stream.take(
          (event) =>
            event.event === 'message.updated' && event.data.message.id === message.id && event.data.message.deletedAt !== null,
        );
        assert.equal(deleted.data.message.content, '');
      } finally {
        stream.close();
      }
    });

    it('catches up edits and deletes made while away, by sync updatedAfter and GET updatedAfter', async () => {
      const early = await send(bob, 'early');
      const middle = await send(bob, 'middle');
      // Alice was here up to now: she has every seq so far and every change so far.
      const seen = await history();
      const lastSeq = seen.at(-1).seq;
      const cursor = Math.max(...seen.map((item) => item.updatedSeq));

      // While she is away: an edit and a delete of messages she has, and a new message edited.
      await call('PATCH', `/messages/${early.id}`, bob, { content: 'early, edited' });
      await call('DELETE', `/messages/${middle.id}`, bob);
      const late = await send(bob, 'late');
      await call('PATCH', `/messages/${late.id}`, bob, { content: 'late, edited' });

      const client = await TestClient.connect(server, alice.accessToken);
      try {
        const ack = await client.request({ type: 'sync', conversationId, afterSeq: lastSeq, updatedAfter: cursor });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        assert.equal(ack.hasMore, false);
        assert.equal(ack.updatesHaveMore, false);
        const replayed = client.frames.filter((frame) => frame.type === 'message' || frame.type === 'message.updated');
        assert.deepEqual(
          replayed.map((frame) => [frame.type, frame.message.id]),
          [
            ['message', late.id],
            ['message.updated', early.id],
            ['message.updated', middle.id],
          ],
        );
        assert.equal(replayed[0].message.content, 'late, edited', 'a new message arrives in its current state');
        assert.equal(replayed[1].message.content, 'early, edited');
        assert.equal(replayed[2].message.deletedAt !== null && replayed[2].message.content === '', true);
        assert.ok(ack.lastUpdatedSeq > cursor);

        const again = await client.request({
          type: 'sync',
          conversationId,
          afterSeq: ack.lastSeq,
          updatedAfter: ack.lastUpdatedSeq,
        });
        assert.equal(again.lastUpdatedSeq, ack.lastUpdatedSeq, 'nothing more to catch up');
      } finally {
        await client.close();
      }

      const overHttp = await call('GET', `/conversations/${conversationId}/messages?updatedAfter=${cursor}`, alice);
      assert.equal(overHttp.status, 200);
      assert.deepEqual(
        overHttp.body.items.map((item: any) => item.id),
        [early.id, middle.id, late.id],
      );
      const paged = await call('GET', `/conversations/${conversationId}/messages?updatedAfter=${cursor}&limit=1`, alice);
      assert.equal(paged.body.hasMore, true);
      assert.equal((await call('GET', `/conversations/${conversationId}/messages?updatedAfter=0`, carol)).status, 404);
    });
  });
}
