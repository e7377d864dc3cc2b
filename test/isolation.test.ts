import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from './support/databases.ts';
import { startTestServer, type Session, type TestServer } from './support/server.ts';

/**
 * Every conversation route, called by each kind of caller. Owner and member may act; a
 * non-member of the same workspace and a user of another workspace get 404 (indistinguishable
 * from a missing id); anonymous callers get 401. No caller outside gets an unexpected success.
 */
for (const database of testDatabases()) {
  describe(`workspace and membership isolation on ${database.name}`, () => {
    let server: TestServer;
    let owner: Session;
    let member: Session;
    let nonMember: Session;
    let outsider: Session;
    let conversationId: string;
    let messageId: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      owner = await server.register('acme', 'owner');
      member = await server.join(owner, 'member');
      nonMember = await server.join(owner, 'stranger');
      outsider = await server.register('globex', 'outsider');
      const conversation = await server.request('POST', '/api/v1/conversations', {
        token: owner.accessToken,
        body: { kind: 'group', title: 'secret', members: [{ type: 'user', id: member.user.id }] },
      });
      conversationId = conversation.body.id;
      const message = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: owner.accessToken,
        body: { content: 'hello' },
      });
      messageId = message.body.id;
    });
    after(() => server.close());

    const routes = () => [
      { method: 'GET', path: `/api/v1/conversations/${conversationId}` },
      { method: 'GET', path: `/api/v1/conversations/${conversationId}/messages` },
      { method: 'POST', path: `/api/v1/conversations/${conversationId}/messages`, body: { content: 'x' } },
      { method: 'POST', path: `/api/v1/conversations/${conversationId}/read`, body: { seq: 1 } },
      { method: 'POST', path: `/api/v1/conversations/${conversationId}/members`, body: { type: 'user', id: owner.user.id } },
      {
        method: 'POST',
        path: `/api/v1/conversations/${conversationId}/messages`,
        body: { content: 'reply', threadRootId: messageId },
      },
    ];

    it('lets the owner and a member use every conversation route', async () => {
      for (const caller of [owner, member]) {
        for (const route of routes()) {
          const response = await server.request(route.method, route.path, { token: caller.accessToken, body: route.body });
          assert.ok(
            response.status < 300,
            `${caller.user.handle} ${route.method} ${route.path}: ${response.status} ${JSON.stringify(response.body)}`,
          );
        }
      }
    });

    it('answers 404 to a non-member of the same workspace and to another workspace', async () => {
      for (const caller of [nonMember, outsider]) {
        for (const route of routes()) {
          const response = await server.request(route.method, route.path, { token: caller.accessToken, body: route.body });
          assert.equal(response.status, 404, `${caller.user.handle} ${route.method} ${route.path}`);
          assert.equal(response.body.error.code, 'not_found');
        }
        const removal = await server.request('DELETE', `/api/v1/conversations/${conversationId}/members/${member.user.id}`, {
          token: caller.accessToken,
        });
        assert.equal(removal.status, 404);
      }
    });

    it('answers an unknown id exactly like a foreign one', async () => {
      const missing = '01900000-0000-7000-8000-000000000000';
      const foreign = await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: outsider.accessToken });
      const unknown = await server.request('GET', `/api/v1/conversations/${missing}`, { token: outsider.accessToken });
      assert.deepEqual(foreign.body, unknown.body);
    });

    it('answers 401 to anonymous callers on every protected route', async () => {
      for (const route of [
        ...routes(),
        { method: 'GET', path: '/api/v1/conversations' },
        { method: 'GET', path: '/api/v1/me' },
        { method: 'POST', path: '/api/v1/invites', body: {} },
      ]) {
        const response = await server.request(route.method, route.path, { body: route.body });
        assert.equal(response.status, 401, `${route.method} ${route.path}`);
        assert.equal(response.body.error.code, 'unauthorized');
      }
    });

    it('keeps other workspaces out of the inbox, the user list and member lists', async () => {
      const inbox = await server.request('GET', '/api/v1/conversations', { token: outsider.accessToken });
      assert.deepEqual(inbox.body.items, []);
      const users = await server.request('GET', '/api/v1/users', { token: outsider.accessToken });
      assert.deepEqual(
        users.body.items.map((user: { handle: string }) => user.handle),
        ['outsider'],
      );
      const addForeign = await server.request('POST', `/api/v1/conversations/${conversationId}/members`, {
        token: owner.accessToken,
        body: { type: 'user', id: outsider.user.id },
      });
      assert.equal(addForeign.status, 404, 'a user of another workspace cannot be added');
      const direct = await server.request('POST', '/api/v1/conversations', {
        token: outsider.accessToken,
        body: { kind: 'direct', members: [{ type: 'user', id: owner.user.id }] },
      });
      assert.equal(direct.status, 404);
    });

    it('lets members leave and only owners or admins remove others', async () => {
      const extra = await server.join(owner, 'extra');
      await server.request('POST', `/api/v1/conversations/${conversationId}/members`, {
        token: owner.accessToken,
        body: { type: 'user', id: extra.user.id },
      });
      const byMember = await server.request('DELETE', `/api/v1/conversations/${conversationId}/members/${extra.user.id}`, {
        token: member.accessToken,
      });
      assert.equal(byMember.status, 403);
      const leave = await server.request('DELETE', `/api/v1/conversations/${conversationId}/members/${extra.user.id}`, {
        token: extra.accessToken,
      });
      assert.equal(leave.status, 204);
      const afterLeaving = await server.request('GET', `/api/v1/conversations/${conversationId}/messages`, {
        token: extra.accessToken,
      });
      assert.equal(afterLeaving.status, 404);
    });
  });
}
