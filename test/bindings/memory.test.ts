import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonReply } from '../support/fake-providers.ts';
import { startBindingWorld, type BindingWorld } from './support.ts';

describe('a binding with the agent memory on', () => {
  let world: BindingWorld;
  before(async () => {
    world = await startBindingWorld(undefined);
  });
  after(() => world.close());

  it('remembers facts about the bound person and loads them into the next reply on their behalf', async () => {
    const keeper = await world.createAgent({ handle: 'keeper', systemPrompt: 'Be brief.', memoryEnabled: true });
    const direct = await world.createConversation('direct', [{ type: 'user', id: world.bob.user.id }]);
    const binding = await world.bind(world.bob, direct, { mode: 'autoreply', agentId: keeper.id });
    assert.equal(binding.status, 201);

    let log = world.watch(direct);
    world.provider.enqueue({ steps: [{ text: 'Bob is away.' }] }, jsonReply({ facts: ['Bob drinks green tea'] }));
    await world.send(direct, 'Bob, tea or coffee?', world.alice);
    let done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete', done.error);
    assert.equal(done.onBehalfOf, world.bob.user.id);
    const first = (await world.runsOf(direct)).find((run) => run.id === done.runId)!;
    const steps = first.steps as Array<{ type: string; input?: any; output?: any }>;
    assert.deepEqual(steps[0]!.input, { userId: world.bob.user.id }, 'the memory is the bound person’s');
    assert.deepEqual(steps.at(-1)!.output, { extracted: 1, stored: ['Bob drinks green tea'] });

    const bobs = await world.server.request('GET', `/api/v1/memories?agentId=${keeper.id}`, { token: world.bob.accessToken });
    assert.deepEqual(
      bobs.body.items.map((item: any) => item.content),
      ['Bob drinks green tea'],
    );
    const alices = await world.server.request('GET', `/api/v1/memories?agentId=${keeper.id}`, {
      token: world.alice.accessToken,
    });
    assert.deepEqual(alices.body.items, [], 'the person writing to bob is not who the agent remembers');

    log = world.watch(direct);
    world.provider.enqueue({ steps: [{ text: 'Green tea.' }] }, jsonReply({ facts: [] }));
    await world.send(direct, 'What do you drink, Bob?', world.alice);
    done = await log.done();
    log.stop();
    assert.equal(done.content, 'Green tea.');
    const system = world.provider.requests.at(-2)!.body.messages[0].content;
    assert.match(system, /^Be brief\.\n\nYou write on behalf of bob \(@bob\)/);
    assert.match(system, /\n\nWhat you remember about this user:\n- Bob drinks green tea$/);
  });
});
