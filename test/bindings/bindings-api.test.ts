import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../support/databases.ts';
import type { Session } from '../support/server.ts';
import { startBindingWorld, type BindingWorld } from './support.ts';

for (const database of testDatabases()) {
  describe(`bindings API on ${database.name}`, () => {
    let world: BindingWorld;
    let direct: string; // alice + bob
    let carolsOwn: string; // carol + bob: alice is not in it
    let mallory: Session; // another workspace
    let mallorysAgent: { id: string };

    before(async () => {
      world = await startBindingWorld(await database.createUrl());
      direct = await world.createConversation('direct', [{ type: 'user', id: world.bob.user.id }]);
      carolsOwn = await world.createConversation('direct', [{ type: 'user', id: world.bob.user.id }], world.carol);
      mallory = await world.server.register(`other-${Math.random().toString(36).slice(2, 8)}`, 'mallory');
      mallorysAgent = await world.createAgent({ handle: 'sneaky' }, mallory);
    });
    after(() => world.close());

    const path = (conversationId: string, rest = '') => `/api/v1/conversations/${conversationId}/bindings${rest}`;

    it('creates, lists (own only), updates and deletes a binding', async () => {
      const created = await world.bind(world.alice, direct, {
        mode: 'autoreply',
        onlyWhenAway: true,
        delaySeconds: 30,
        instructions: 'Be short.',
        dailyMessageBudget: 5,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(
        { ...created.body, id: undefined, createdAt: undefined, updatedAt: undefined },
        {
          id: undefined,
          conversationId: direct,
          userId: world.alice.user.id,
          agentId: world.assistant.id,
          mode: 'autoreply',
          enabled: true,
          onlyWhenAway: true,
          delaySeconds: 30,
          instructions: 'Be short.',
          dailyMessageBudget: 5,
          usedToday: 0,
          createdAt: undefined,
          updatedAt: undefined,
        },
      );
      const bobs = await world.bind(world.bob, direct, { mode: 'advice' });
      assert.equal(bobs.status, 201);

      const alicesList = await world.server.request('GET', path(direct), { token: world.alice.accessToken });
      assert.deepEqual(
        alicesList.body.items.map((item: any) => item.id),
        [created.body.id],
      );
      const bobsList = await world.server.request('GET', path(direct), { token: world.bob.accessToken });
      assert.deepEqual(
        bobsList.body.items.map((item: any) => item.id),
        [bobs.body.id],
      );

      const patched = await world.server.request('PATCH', path(direct, `/${created.body.id}`), {
        token: world.alice.accessToken,
        body: { enabled: false, dailyMessageBudget: null, delaySeconds: 0 },
      });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.enabled, false);
      assert.equal(patched.body.dailyMessageBudget, null);
      assert.equal(patched.body.instructions, 'Be short.');

      const deleted = await world.server.request('DELETE', path(direct, `/${created.body.id}`), {
        token: world.alice.accessToken,
      });
      assert.equal(deleted.status, 204);
      const empty = await world.server.request('GET', path(direct), { token: world.alice.accessToken });
      assert.deepEqual(empty.body.items, []);
    });

    it('refuses a second binding of the same mode in a conversation with conflict', async () => {
      const first = await world.bind(world.carol, carolsOwn, { mode: 'advice' });
      assert.equal(first.status, 201);
      const second = await world.bind(world.carol, carolsOwn, { mode: 'advice' });
      assert.equal(second.status, 409);
      assert.equal(second.body.error.code, 'conflict');
      assert.equal(second.body.error.details.bindingId, first.body.id);
      // The other mode is a different binding.
      assert.equal((await world.bind(world.carol, carolsOwn, { mode: 'autoreply' })).status, 201);
    });

    it('answers not_found for a conversation you are not in, another workspace, or someone else’s binding', async () => {
      const notMember = await world.bind(world.alice, carolsOwn, { mode: 'advice' });
      assert.equal(notMember.status, 404);
      assert.equal(notMember.body.error.code, 'not_found');
      assert.equal((await world.server.request('GET', path(carolsOwn), { token: world.alice.accessToken })).status, 404);

      const foreignAgent = await world.bind(world.alice, direct, { mode: 'advice', agentId: mallorysAgent.id });
      assert.equal(foreignAgent.status, 404);
      assert.match(foreignAgent.body.error.message, /Agent/);
      const foreignUser = await world.server.request('POST', path(direct), {
        token: mallory.accessToken,
        body: { agentId: mallorysAgent.id, mode: 'advice' },
      });
      assert.equal(foreignUser.status, 404);

      const bobs = (await world.server.request('GET', path(direct), { token: world.bob.accessToken })).body.items[0];
      for (const [method, body] of [
        ['PATCH', { enabled: false }],
        ['DELETE', undefined],
      ] as const) {
        const response = await world.server.request(method, path(direct, `/${bobs.id}`), {
          token: world.alice.accessToken,
          body,
        });
        assert.equal(response.status, 404, method);
      }
      const stillThere = (await world.server.request('GET', path(direct), { token: world.bob.accessToken })).body.items[0];
      assert.equal(stillThere.enabled, true);
    });

    it('rejects bad input with invalid_request', async () => {
      for (const body of [
        { mode: 'ghostwrite' },
        { mode: 'advice', delaySeconds: -1 },
        { mode: 'advice', dailyMessageBudget: 0 },
        { mode: 'advice', agentId: 'not-a-uuid' },
        { mode: 'advice', instructions: 'x'.repeat(8_001) },
      ]) {
        const response = await world.bind(world.alice, direct, body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(response.body.error.code, 'invalid_request');
      }
    });

    it('lets the person or an admin pause and resume every binding of a user, nobody else', async () => {
      const bobPath = `/api/v1/users/${world.bob.user.id}/bindings`;
      const byCarol = await world.server.request('POST', `${bobPath}/pause`, { token: world.carol.accessToken });
      assert.equal(byCarol.status, 403);
      const byMallory = await world.server.request('POST', `${bobPath}/pause`, { token: mallory.accessToken });
      assert.equal(byMallory.status, 404);

      const byAdmin = await world.server.request('POST', `${bobPath}/pause`, { token: world.alice.accessToken });
      assert.equal(byAdmin.status, 200);
      assert.equal(byAdmin.body.paused, true);
      assert.equal(byAdmin.body.pausedBy, world.alice.user.id);
      const seenByBob = await world.server.request('GET', `${bobPath}/pause`, { token: world.bob.accessToken });
      assert.equal(seenByBob.body.paused, true);
      const resumed = await world.server.request('POST', `${bobPath}/resume`, { token: world.bob.accessToken });
      assert.deepEqual(resumed.body, { userId: world.bob.user.id, paused: false, pausedBy: null, pausedAt: null });
    });
  });
}
