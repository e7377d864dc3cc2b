import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

for (const database of testDatabases()) {
  describe(`forward on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let bob: Session;
    let carol: Session;
    let source: string; // alice + bob
    let target: string; // alice + carol
    let bobOnly: string; // bob + carol

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      carol = await server.join(alice, 'carol');
      const group = async (owner: Session, title: string, other: Session) =>
        (
          await server.request('POST', '/api/v1/conversations', {
            token: owner.accessToken,
            body: { kind: 'group', title, members: [{ type: 'user', id: other.user.id }] },
          })
        ).body.id as string;
      source = await group(alice, 'source', bob);
      target = await group(alice, 'target', carol);
      bobOnly = await group(bob, 'bob and carol', carol);
    });
    after(() => server.close());

    const call = (method: string, path: string, session: Session, body?: unknown) =>
      server.request(method, `/api/v1${path}`, { token: session.accessToken, body });

    it('copies into the target, live, and shows the origin only to members of the source', async () => {
      const original = await call('POST', `/conversations/${source}/messages`, bob, { content: 'worth sharing' });
      const watcher = await TestClient.connect(server, carol.accessToken);
      try {
        const forwarded = await call('POST', `/messages/${original.body.id}/forward`, alice, { conversationId: target });
        assert.equal(forwarded.status, 201, JSON.stringify(forwarded.body));
        assert.equal(forwarded.body.conversationId, target);
        assert.equal(forwarded.body.content, 'worth sharing');
        assert.equal(forwarded.body.sender.id, alice.user.id);
        assert.deepEqual(forwarded.body.forwardedFrom, {
          messageId: original.body.id,
          conversationId: source,
          senderHandle: 'bob',
        });

        const live = await watcher.take((frame) => frame.type === 'message' && frame.message.id === forwarded.body.id);
        assert.deepEqual(live.message.forwardedFrom, { messageId: null, conversationId: null, senderHandle: null });
        assert.doesNotMatch(JSON.stringify(live), new RegExp(source), 'the live frame names nothing of the source');

        const asCarol = await call('GET', `/messages/${forwarded.body.id}`, carol);
        assert.deepEqual(asCarol.body.forwardedFrom, { messageId: null, conversationId: null, senderHandle: null });
        const history = await call('GET', `/conversations/${target}/messages`, carol);
        assert.doesNotMatch(JSON.stringify(history.body), new RegExp(source));
        const asAlice = await call('GET', `/messages/${forwarded.body.id}`, alice);
        assert.equal(asAlice.body.forwardedFrom.conversationId, source);
      } finally {
        await watcher.close();
      }
    });

    it('refuses forwarding into a conversation you are not in, or from one, storing nothing', async () => {
      const original = await call('POST', `/conversations/${source}/messages`, alice, { content: 'stays here' });
      const before = (await call('GET', `/conversations/${bobOnly}`, bob)).body.lastSeq;
      const intoForeign = await call('POST', `/messages/${original.body.id}/forward`, alice, { conversationId: bobOnly });
      assert.equal(intoForeign.status, 404);
      assert.equal(intoForeign.body.error.code, 'not_found');
      assert.equal((await call('GET', `/conversations/${bobOnly}`, bob)).body.lastSeq, before);
      const fromForeign = await call('POST', `/messages/${original.body.id}/forward`, carol, { conversationId: target });
      assert.equal(fromForeign.status, 404);
      await call('DELETE', `/messages/${original.body.id}`, alice);
      const tombstone = await call('POST', `/messages/${original.body.id}/forward`, alice, { conversationId: target });
      assert.equal(tombstone.status, 409);
    });
  });
}
