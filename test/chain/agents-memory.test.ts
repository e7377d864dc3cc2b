import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonReply } from '../support/fake-providers.ts';
import { testDatabases } from '../support/databases.ts';
import { startChainWorld, type ChainWorld } from './support.ts';

describe('call_agent', () => {
  let world: ChainWorld;
  before(async () => {
    world = await startChainWorld();
  });
  after(() => world.close());

  const agent = (handle: string, body: Record<string, unknown> = {}) => world.createAgent({ handle, ...body });

  it('asks another agent a sub-question and answers with its reply', async () => {
    await agent('expert', { systemPrompt: 'You know numbers.' });
    const { conversationId } = await world.directWith({
      chain: { steps: [{ type: 'call_agent', agent: 'expert', question: 'What is 6 times 7?' }, { type: 'generate' }] },
    });
    const log = world.watch(conversationId);
    world.provider.enqueue({ steps: [{ text: '42' }] }, { steps: [{ text: 'The expert says 42.' }] });
    await world.send(conversationId, 'ask the expert');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete', done.error);
    assert.equal(done.content, 'The expert says 42.');
    const expertRequest = world.provider.requests.at(-2)!.body;
    assert.equal(expertRequest.messages[0].content, 'You know numbers.');
    assert.match(expertRequest.messages.at(-1).content, /What is 6 times 7\?$/);
    assert.match(world.provider.requests.at(-1)!.body.messages[0].content, /@expert answered "What is 6 times 7\?": 42/);
    const run = await world.getRun(done.runId);
    assert.equal(run.steps[0].output.answer, '42');
    assert.deepEqual(
      run.steps[0].output.steps.map((step: any) => step.type),
      ['memory_load', 'rag', 'generate', 'memory_store'],
    );
  });

  it('refuses a cycle', async () => {
    await agent('ping', { chain: { steps: [{ type: 'call_agent', agent: 'pong' }] } });
    await agent('pong', { chain: { steps: [{ type: 'call_agent', agent: 'ping' }] } });
    const conversationId = await world.createConversation('group', [{ type: 'agent', id: (await find('ping')).id }]);
    const log = world.watch(conversationId);
    await world.send(conversationId, '@ping go');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'failed');
    assert.equal(done.error, '@pong could not answer: call_agent: cycle (@ping → @pong → @ping)');
  });

  it('stops after 3 hops', async () => {
    await agent('hop4', { chain: { steps: [{ type: 'generate' }] } });
    await agent('hop3', { chain: { steps: [{ type: 'call_agent', agent: 'hop4' }] } });
    await agent('hop2', { chain: { steps: [{ type: 'call_agent', agent: 'hop3' }] } });
    await agent('hop1', { chain: { steps: [{ type: 'call_agent', agent: 'hop2' }] } });
    await agent('hop0', { chain: { steps: [{ type: 'call_agent', agent: 'hop1' }] } });
    const conversationId = await world.createConversation('group', [{ type: 'agent', id: (await find('hop0')).id }]);
    const log = world.watch(conversationId);
    const requests = world.provider.requests.length;
    await world.send(conversationId, '@hop0 go deep');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'failed');
    assert.match(done.error, /call_agent: more than 3 hops \(@hop0 → @hop1 → @hop2 → @hop3 → @hop4\)/);
    assert.equal(world.provider.requests.length, requests, 'no model was called');
  });

  async function find(handle: string) {
    const list = await world.server.request('GET', '/api/v1/agents', { token: world.alice.accessToken });
    return list.body.items.find((item: any) => item.handle === handle);
  }
});

for (const database of testDatabases()) {
  describe(`memory on ${database.name}`, () => {
    let world: ChainWorld;
    before(async () => {
      world = await startChainWorld({ databaseUrl: await database.createUrl() });
    });
    after(() => world.close());

    it('stores facts the model extracts, loads them next time, and lets only their user list and delete them', async () => {
      const { agent, conversationId } = await world.directWith({ memoryEnabled: true, systemPrompt: 'Be brief.' });
      let log = world.watch(conversationId);
      world.provider.enqueue({ steps: [{ text: 'Noted!' }] }, jsonReply({ facts: ['Alice drinks green tea'] }));
      await world.send(conversationId, 'I only drink green tea');
      let done = await log.done();
      log.stop();
      assert.equal(done.status, 'complete', done.error);
      const extraction = world.provider.requests.at(-1)!.body;
      assert.equal(extraction.response_format.type, 'json_schema');
      assert.match(extraction.messages.at(-1).content, /I only drink green tea[\s\S]*\[your reply\] Noted!/);
      let run = await world.getRun(done.runId);
      assert.deepEqual(run.steps.at(-1).output, { extracted: 1, stored: ['Alice drinks green tea'] });

      const listed = await world.server.request('GET', `/api/v1/memories?agentId=${agent.id}`, {
        token: world.alice.accessToken,
      });
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.items.map((item: any) => item.content),
        ['Alice drinks green tea'],
      );

      log = world.watch(conversationId);
      world.provider.enqueue({ steps: [{ text: 'Green tea.' }] }, jsonReply({ facts: ['Alice drinks green tea'] }));
      await world.send(conversationId, 'what do I drink?');
      done = await log.done();
      log.stop();
      const system = world.provider.requests.at(-2)!.body.messages[0].content;
      assert.match(system, /^Be brief\.\n\nWhat you remember about this user:\n- Alice drinks green tea$/);
      run = await world.getRun(done.runId);
      assert.deepEqual(run.steps[0].output, { facts: 1 });
      assert.deepEqual(run.steps.at(-1).output, { extracted: 1, stored: [] }, 'a known fact is not stored twice');

      const bob = await world.server.join(world.alice, 'bob');
      const memoryId = listed.body.items[0].id;
      const bobs = await world.server.request('GET', '/api/v1/memories', { token: bob.accessToken });
      assert.deepEqual(bobs.body.items, []);
      const stolen = await world.server.request('DELETE', `/api/v1/memories/${memoryId}`, { token: bob.accessToken });
      assert.equal(stolen.status, 404);
      const deleted = await world.server.request('DELETE', `/api/v1/memories/${memoryId}`, { token: world.alice.accessToken });
      assert.equal(deleted.status, 204);
      const again = await world.server.request('DELETE', `/api/v1/memories/${memoryId}`, { token: world.alice.accessToken });
      assert.equal(again.status, 404);
    });

    it('skips memory steps (no model call) when memory is off', async () => {
      const { conversationId } = await world.directWith({});
      const log = world.watch(conversationId);
      const requests = world.provider.requests.length;
      await world.send(conversationId, 'hello');
      const done = await log.done();
      log.stop();
      assert.equal(world.provider.requests.length, requests + 1);
      const run = await world.getRun(done.runId);
      assert.deepEqual(run.steps.at(-1).output, { skipped: 'memory is off for this agent' });
    });
  });
}
