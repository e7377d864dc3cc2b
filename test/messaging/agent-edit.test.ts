import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgentWorld, type AgentWorld } from '../agents/support.ts';
import { testDatabases } from '../support/databases.ts';

for (const database of testDatabases()) {
  describe(`editing an agent prompt on ${database.name}`, () => {
    let world: AgentWorld;

    before(async () => {
      world = await startAgentWorld({ databaseUrl: await database.createUrl() });
    });
    after(() => world.close());

    it('does not rerun the agent: no new request, run or message; the edit shows', async () => {
      const agent = await world.createAgent({ handle: 'helper' });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
      const log = world.watch(conversationId);
      world.provider.enqueue({ steps: [{ text: 'the answer' }] });
      const prompt = await world.send(conversationId, 'what is 2 + 2?');
      const done = await log.done();
      assert.equal(done.content, 'the answer');
      const requestsBefore = world.provider.requests.length;

      const edited = await world.server.request('PATCH', `/api/v1/messages/${prompt.id}`, {
        token: world.alice.accessToken,
        body: { content: 'what is 3 + 3?' },
      });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      await log.waitFor((event) => event.type === 'message.updated' && (event.message as { id: string }).id === prompt.id);
      // A send after the edit is answered first in the agent's mailbox: if the edit had queued a
      // run, it would have reached the provider before this one.
      world.provider.enqueue({ steps: [{ text: 'second' }] });
      await world.send(conversationId, 'and now?');
      const second = await log.done(2);
      assert.equal(second.content, 'second');
      assert.equal(world.provider.requests.length, requestsBefore + 1, 'only the new message reached the model');
      const history = await world.server.request('GET', `/api/v1/conversations/${conversationId}/messages`, {
        token: world.alice.accessToken,
      });
      assert.deepEqual(
        history.body.items.map((message: { content: string }) => message.content),
        ['what is 3 + 3?', 'the answer', 'and now?', 'second'],
      );
      log.stop();
    });
  });
}
