import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startBindingWorld, type BindingWorld } from './support.ts';

/** The (sender handle, onBehalfOf) of every message of a conversation, in seq order. */
async function transcript(world: BindingWorld, conversationId: string): Promise<string[]> {
  const page = await world.server.request('GET', `/api/v1/conversations/${conversationId}/messages?limit=100`, {
    token: world.alice.accessToken,
  });
  const handles = new Map([
    [world.alice.user.id, 'alice'],
    [world.bob.user.id, 'bob'],
    [world.carol.user.id, 'carol'],
  ]);
  return page.body.items.map((message: any) =>
    message.onBehalfOf
      ? `${message.sender.handle} for ${handles.get(message.onBehalfOf)}: ${message.content}`
      : `${message.sender.handle}: ${message.content}`,
  );
}

for (const database of testDatabases()) {
  describe(`autoreply bindings on ${database.name}`, () => {
    let world: BindingWorld;

    before(async () => {
      world = await startBindingWorld(await database.createUrl());
      world.provider.setFallback(() => ({ steps: [{ text: 'auto answer' }] }));
    });
    after(() => world.close());

    it('answers for the person in a direct conversation, as their assistant, from their point of view', async () => {
      const direct = await world.createConversation('direct', [{ type: 'user', id: world.bob.user.id }]);
      await world.send(direct, 'an old message, before the binding', world.alice);
      await world.send(direct, 'my own old reply', world.bob);
      const binding = await world.bind(world.bob, direct, { mode: 'autoreply', instructions: 'Say I am on holiday.' });
      assert.equal(binding.status, 201);
      await world.settled();
      assert.equal((await world.runsOf(direct)).length, 0, 'messages older than the binding are never answered');

      const log = world.watch(direct);
      const requestsBefore = world.provider.requests.length;
      const trigger = await world.send(direct, 'Are you free tomorrow?', world.alice);
      const done = await log.done();
      log.stop();
      assert.equal(done.sender.id, world.assistant.id);
      assert.equal(done.onBehalfOf, world.bob.user.id);
      assert.equal(done.content, 'auto answer');
      assert.equal(done.status, 'complete');
      assert.ok(done.runId);
      const started = log.of('message').find((event) => event.message.id === done.id);
      assert.equal(started.message.status, 'streaming', 'the autoreply streams like any run');
      assert.ok(log.of('run.step').some((event) => event.runId === done.runId));

      const runs = await world.runsOf(direct);
      assert.equal(runs.length, 1);
      assert.equal(runs[0].id, done.runId);
      assert.equal(runs[0].onBehalfOf, world.bob.user.id);
      assert.equal(runs[0].triggerMessageId, trigger.id);
      assert.equal(runs[0].status, 'completed');

      // The model saw bob's side as its own (assistant) and alice as the other party.
      const prompt = world.provider.requests[requestsBefore].body;
      assert.match(prompt.messages[0].content, /You are a helpful assistant\./);
      assert.match(prompt.messages[0].content, /on behalf of bob \(@bob\)/);
      assert.match(prompt.messages[0].content, /Say I am on holiday\./);
      assert.deepEqual(
        prompt.messages.slice(1).map((turn: any) => [turn.role, turn.content]),
        [
          ['user', 'alice: an old message, before the binding'],
          ['assistant', 'my own old reply'],
          ['user', 'alice: Are you free tomorrow?'],
        ],
      );
    });

    it('answers in a group, never its own person, at most one hop when two autoreplies face each other', async () => {
      const group = await world.createConversation('group', [
        { type: 'user', id: world.bob.user.id },
        { type: 'user', id: world.carol.user.id },
      ]);
      assert.equal((await world.bind(world.alice, group, { mode: 'autoreply' })).status, 201);
      assert.equal((await world.bind(world.bob, group, { mode: 'autoreply' })).status, 201);

      const log = world.watch(group);
      await world.send(group, 'hello all', world.carol);
      await log.done(2);
      await world.settled();
      // Alice's and Bob's assistants both answered carol; neither answered the other.
      assert.deepEqual((await transcript(world, group)).sort(), [
        'carol: hello all',
        'helper for alice: auto answer',
        'helper for bob: auto answer',
      ]);

      await world.send(group, 'alice here', world.alice);
      await log.done(3);
      await world.settled();
      await world.send(group, 'bob here', world.bob);
      await log.done(4);
      await world.settled();
      log.stop();
      const lines = await transcript(world, group);
      assert.deepEqual(lines.slice(3), [
        'alice: alice here',
        'helper for bob: auto answer',
        'bob: bob here',
        'helper for alice: auto answer',
      ]);
      assert.equal((await world.runsOf(group)).length, 4);
    });

    it('onlyWhenAway: silent while the person is connected, answers once they are gone', async () => {
      const direct = await world.createConversation('direct', [{ type: 'user', id: world.carol.user.id }]);
      assert.equal((await world.bind(world.carol, direct, { mode: 'autoreply', onlyWhenAway: true })).status, 201);
      const carolOnline = await TestClient.connect(world.server, world.carol.accessToken);
      await world.send(direct, 'carol, are you there?', world.alice);
      await world.settled();
      assert.equal((await world.runsOf(direct)).length, 0);

      await carolOnline.close();
      const bus = world.server.context.bus;
      while ((await bus.filterOnline([world.carol.user.id])).length > 0) await new Promise((resolve) => setImmediate(resolve));
      const log = world.watch(direct);
      await world.send(direct, 'carol, now?', world.alice);
      const done = await log.done();
      log.stop();
      assert.equal(done.onBehalfOf, world.carol.user.id);
    });

    it('delaySeconds: waits, and the person typing or writing cancels the reply', async () => {
      const direct = await world.createConversation('direct', [{ type: 'user', id: world.carol.user.id }], world.bob);
      assert.equal((await world.bind(world.carol, direct, { mode: 'autoreply', delaySeconds: 1 })).status, 201);
      const trigger = world.server.context.bindings!.trigger;

      await world.send(direct, 'ping 1', world.bob);
      await world.settled();
      assert.equal(trigger.pendingCount, 1);
      const carol = await TestClient.connect(world.server, world.carol.accessToken);
      const ack = await carol.request({ type: 'typing', conversationId: direct });
      assert.equal(ack.type, 'ack');
      assert.equal(trigger.pendingCount, 0, 'typing cancelled the delayed reply');
      await carol.close();

      await world.send(direct, 'ping 1b', world.bob);
      await world.settled();
      assert.equal(trigger.pendingCount, 1);
      await world.send(direct, 'carol answers herself', world.carol);
      assert.equal(trigger.pendingCount, 0, 'her own message cancelled it');

      const log = world.watch(direct);
      const sentAt = Date.now();
      await world.send(direct, 'ping 2', world.bob);
      const done = await log.done();
      log.stop();
      assert.ok(Date.now() - sentAt >= 1_000, 'the reply waited delaySeconds');
      const runs = await world.runsOf(direct);
      assert.equal(runs.length, 1, 'only the uncancelled message was answered');
      assert.equal(runs[0].id, done.runId);
    });

    it('the kill switch stops every binding of the user until resumed', async () => {
      // The same direct conversation as the test before (carol's delayed binding stays silent: carol writes).
      const direct = await world.createConversation('direct', [{ type: 'user', id: world.bob.user.id }], world.carol);
      const runsBefore = (await world.runsOf(direct)).length;
      assert.equal((await world.bind(world.bob, direct, { mode: 'autoreply' })).status, 201);
      const pause = await world.server.request('POST', `/api/v1/users/${world.bob.user.id}/bindings/pause`, {
        token: world.alice.accessToken,
      });
      assert.equal(pause.status, 200);
      await world.send(direct, 'anyone?', world.carol);
      await world.settled();
      assert.equal((await world.runsOf(direct)).length, runsBefore);

      await world.server.request('POST', `/api/v1/users/${world.bob.user.id}/bindings/resume`, { token: world.bob.accessToken });
      const log = world.watch(direct);
      await world.send(direct, 'anyone now?', world.carol);
      await log.done();
      log.stop();
      assert.equal((await world.runsOf(direct)).length, runsBefore + 1);
    });

    it('the daily budget stops it, with one private notice to the person', async () => {
      // The onlyWhenAway test's conversation: carol's own binding never answers carol.
      const direct = await world.createConversation('direct', [{ type: 'user', id: world.alice.user.id }], world.carol);
      const runsBefore = (await world.runsOf(direct)).length;
      const binding = await world.bind(world.alice, direct, { mode: 'autoreply', dailyMessageBudget: 1 });
      const alice = await TestClient.connect(world.server, world.alice.accessToken);
      const log = world.watch(direct);
      await world.send(direct, 'one', world.carol);
      await log.done();
      log.stop();
      await world.send(direct, 'two', world.carol);
      await world.settled();
      await world.send(direct, 'three', world.carol);
      await world.settled();
      assert.equal((await world.runsOf(direct)).length, runsBefore + 1);

      const notice = await alice.take((frame) => frame.type === 'advice' && frame.conversationId === direct);
      assert.equal(notice.advice.kind, 'notice');
      assert.equal(notice.advice.bindingId, binding.body.id);
      assert.match(notice.advice.content, /daily budget of 1/);
      const pending = await world.server.request('GET', `/api/v1/conversations/${direct}/advice`, {
        token: world.alice.accessToken,
      });
      assert.deepEqual(
        pending.body.items.map((item: any) => item.kind),
        ['notice'],
        'one notice a day',
      );
      const listed = await world.server.request('GET', `/api/v1/conversations/${direct}/bindings`, {
        token: world.alice.accessToken,
      });
      assert.equal(listed.body.items[0].usedToday, 1);
      const send = await world.server.request('POST', `/api/v1/conversations/${direct}/advice/${notice.advice.id}/send`, {
        token: world.alice.accessToken,
        body: {},
      });
      assert.equal(send.status, 400);
      const dismissed = await world.server.request('POST', `/api/v1/conversations/${direct}/advice/${notice.advice.id}/dismiss`, {
        token: world.alice.accessToken,
      });
      assert.equal(dismissed.body.status, 'dismissed');
      await alice.close();
    });
  });
}
