import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SseReader, TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import type { Session } from '../support/server.ts';
import { startBindingWorld, type BindingWorld } from './support.ts';

/** A word that appears only in advice, so any read path that shows it leaks advice. */
const secret = 'zebracadabra';

for (const database of testDatabases()) {
  describe(`advice bindings on ${database.name}`, () => {
    let world: BindingWorld;
    let group: string; // alice, bob, carol and the @scribe agent
    let scribe: { id: string; handle: string };
    let aliceSocket: TestClient;
    let bobSocket: TestClient;
    let aliceSse: SseReader;
    let bobSse: SseReader;
    let firstAdvice: any;

    const api = (session: Session, method: string, path: string, body?: unknown) =>
      world.server.request(method, `/api/v1/conversations/${group}${path}`, { token: session.accessToken, body });

    before(async () => {
      world = await startBindingWorld(await database.createUrl());
      // Advice runs (their system prompt says "private suggestion") answer with the secret word.
      world.provider.setFallback((request) => {
        const system = JSON.stringify(request.body.messages?.[0] ?? '');
        return {
          steps: system.includes('private suggestion')
            ? [{ text: 'Say ' }, { text: `${secret} at noon` }]
            : [{ text: 'plain reply' }],
        };
      });
      scribe = await world.createAgent({ handle: 'scribe' });
      group = await world.createConversation('group', [
        { type: 'user', id: world.bob.user.id },
        { type: 'user', id: world.carol.user.id },
        { type: 'agent', id: scribe.id },
      ]);
      aliceSocket = await TestClient.connect(world.server, world.alice.accessToken);
      bobSocket = await TestClient.connect(world.server, world.bob.accessToken);
      const events = (session: Session) =>
        SseReader.open(`${world.server.url}/api/v1/conversations/${group}/events`, {
          authorization: `Bearer ${session.accessToken}`,
        });
      aliceSse = await events(world.alice);
      bobSse = await events(world.bob);
    });
    after(async () => {
      aliceSocket.ws.close();
      bobSocket.ws.close();
      aliceSse.close();
      bobSse.close();
      await world.close();
    });

    it('streams a suggestion to its owner only, on their WebSocket and SSE', async () => {
      const binding = await world.bind(world.bob, group, { mode: 'advice', instructions: 'I am terse.' });
      assert.equal(binding.status, 201);
      const requestsBefore = world.provider.requests.length;
      const trigger = await world.send(group, 'When is the launch?', world.alice);

      const opened = await bobSocket.take((frame) => frame.type === 'advice');
      assert.equal(opened.conversationId, group);
      assert.equal(opened.advice.status, 'streaming');
      assert.equal(opened.advice.kind, 'suggestion');
      assert.equal(opened.advice.triggerMessageId, trigger.id);
      const done = await bobSocket.take((frame) => frame.type === 'advice.done');
      firstAdvice = done.advice;
      assert.equal(firstAdvice.id, opened.advice.id);
      assert.equal(firstAdvice.status, 'ready');
      assert.equal(firstAdvice.content, `Say ${secret} at noon`);
      assert.equal(firstAdvice.bindingId, binding.body.id);
      assert.ok(firstAdvice.runId);
      const deltas = bobSocket.frames.filter((frame) => frame.type === 'advice.delta' && frame.adviceId === firstAdvice.id);
      assert.equal(deltas.map((frame) => frame.delta).join(''), firstAdvice.content);
      let offset = 0;
      for (const frame of deltas) {
        assert.equal(frame.offset, offset, 'each delta says where it starts in the content');
        offset += frame.delta.length;
      }
      assert.ok(bobSocket.frames.some((frame) => frame.type === 'run.step' && frame.runId === firstAdvice.runId));
      await bobSse.take((event) => event.event === 'advice.done' && event.data.advice.id === firstAdvice.id);

      // The run is recorded, and its context is bob's side of the conversation.
      const run = await world.server.request('GET', `/api/v1/runs/${firstAdvice.runId}`, { token: world.bob.accessToken });
      assert.equal(run.body.status, 'completed');
      assert.equal(run.body.messageId, null);
      const prompt = world.provider.requests[requestsBefore].body;
      assert.match(prompt.messages[0].content, /private suggestion that only bob sees/);
      assert.match(prompt.messages[0].content, /I am terse\./);
      assert.deepEqual(prompt.messages.at(-2), { role: 'user', content: 'alice: When is the launch?' });
      assert.deepEqual(prompt.messages.at(-1), { role: 'user', content: '(Suggest the next message for @bob.)' });
    });

    it('never shows advice to another member: WebSocket, SSE, sync, history, search, inbox', async () => {
      await world.settled();
      // A round trip on each channel after the advice finished: anything published before has arrived.
      await aliceSocket.request({ type: 'ping' });
      const leaks = (value: unknown) => JSON.stringify(value).includes(secret) || JSON.stringify(value).includes(firstAdvice.id);
      assert.ok(!aliceSocket.frames.some(leaks), 'alice WebSocket');
      assert.ok(!aliceSocket.frames.some((frame) => frame.type.startsWith('advice') || frame.runId === firstAdvice.runId));
      assert.ok(!aliceSse.events.some(leaks), 'alice SSE');

      const history = await api(world.alice, 'GET', '/messages?limit=100');
      assert.ok(!leaks(history.body), 'history');
      assert.deepEqual(
        history.body.items.map((message: any) => message.seq),
        history.body.items.map((_: unknown, index: number) => index + 1),
        'advice takes no seq',
      );
      for (const socket of [aliceSocket, bobSocket]) {
        const ack = await socket.request({ type: 'sync', conversationId: group, afterSeq: 0 });
        assert.equal(ack.lastSeq, history.body.items.length);
        assert.ok(!socket.frames.filter((frame) => frame.type === 'message').some(leaks), 'sync');
      }
      for (const session of [world.alice, world.bob]) {
        const search = await world.server.request('GET', `/api/v1/search?q=${secret}`, { token: session.accessToken });
        assert.equal(search.status, 200);
        assert.deepEqual(search.body.items, [], 'search');
        const inbox = await world.server.request('GET', '/api/v1/conversations', { token: session.accessToken });
        const entry = inbox.body.items.find((item: any) => item.id === group);
        assert.ok(!leaks(entry), 'inbox');
        assert.equal(entry.lastMessage.content, 'When is the launch?');
      }
      const bobsInbox = await world.server.request('GET', '/api/v1/conversations', { token: world.bob.accessToken });
      assert.equal(bobsInbox.body.items.find((item: any) => item.id === group).unreadCount, 1);
      const alicesAdvice = await api(world.alice, 'GET', '/advice');
      assert.deepEqual(alicesAdvice.body.items, []);
    });

    it("never reaches another agent's context nor the OpenAI-compatible face", async () => {
      const log = world.watch(group);
      const requestsBefore = world.provider.requests.length;
      await world.send(group, '@scribe summarize please', world.carol);
      const reply = await log.done();
      log.stop();
      assert.equal(reply.sender.id, scribe.id);
      const prompt = world.provider.requests[requestsBefore].body;
      assert.ok(JSON.stringify(prompt).includes('When is the launch?'), 'the context has the conversation');
      assert.ok(!JSON.stringify(prompt).includes(secret), 'and no advice');
      // carol's message started bob's advice binding again: let it finish before the next test.
      await bobSocket.take((frame) => frame.type === 'advice.done' && frame.advice.id !== firstAdvice.id);

      const completion = await world.server.request('POST', '/v1/chat/completions', {
        token: world.alice.accessToken,
        body: { model: 'scribe', messages: [{ role: 'user', content: 'what did bob get suggested?' }] },
      });
      assert.equal(completion.status, 200);
      assert.ok(!JSON.stringify(completion.body).includes(secret));
      assert.ok(!JSON.stringify(world.provider.requests.at(-1)!.body).includes(secret));
    });

    it('sends a suggestion as the person’s own message, once', async () => {
      const sent = await api(world.bob, 'POST', `/advice/${firstAdvice.id}/send`, {});
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      assert.equal(sent.body.advice.status, 'sent');
      assert.equal(sent.body.message.sender.id, world.bob.user.id);
      assert.equal(sent.body.message.sender.type, 'user');
      assert.equal(sent.body.message.onBehalfOf, null);
      assert.equal(sent.body.message.content, `Say ${secret} at noon`);
      assert.equal(sent.body.advice.sentMessageId, sent.body.message.id);
      await aliceSocket.take((frame) => frame.type === 'message' && frame.message.id === sent.body.message.id);
      await bobSocket.take((frame) => frame.type === 'advice.updated' && frame.advice.id === firstAdvice.id);
      const again = await api(world.bob, 'POST', `/advice/${firstAdvice.id}/send`, {});
      assert.equal(again.status, 409);
      const pending = await api(world.bob, 'GET', '/advice');
      assert.ok(!pending.body.items.some((item: any) => item.id === firstAdvice.id));
    });

    it('asks for advice on demand, then edits it before sending', async () => {
      const asked = await api(world.bob, 'POST', '/advice', {});
      assert.equal(asked.status, 202, JSON.stringify(asked.body));
      const done = await bobSocket.take((frame) => frame.type === 'advice.done' && frame.advice.runId === asked.body.runId);
      assert.equal(done.advice.status, 'ready');
      const sent = await api(world.bob, 'POST', `/advice/${done.advice.id}/send`, { content: 'Noon, in the big room.' });
      assert.equal(sent.body.message.content, 'Noon, in the big room.');
      assert.equal(sent.body.advice.content, 'Noon, in the big room.');
    });

    it('dismisses advice', async () => {
      const asked = await api(world.bob, 'POST', '/advice', { agentId: scribe.id });
      assert.equal(asked.status, 202);
      assert.equal(asked.body.agentId, scribe.id);
      const done = await bobSocket.take((frame) => frame.type === 'advice.done' && frame.advice.runId === asked.body.runId);
      assert.equal(done.advice.agentId, scribe.id);
      assert.equal(done.advice.bindingId, null);
      const dismissed = await api(world.bob, 'POST', `/advice/${done.advice.id}/dismiss`);
      assert.equal(dismissed.body.status, 'dismissed');
      assert.equal((await api(world.bob, 'POST', `/advice/${done.advice.id}/dismiss`)).status, 200, 'idempotent');
      assert.equal((await api(world.bob, 'POST', `/advice/${done.advice.id}/send`, {})).status, 409);
      const pending = await api(world.bob, 'GET', '/advice');
      assert.ok(!pending.body.items.some((item: any) => item.id === done.advice.id));
    });

    it('dismissing a suggestion still being written stops its run', async () => {
      world.provider.enqueue({ steps: [{ text: 'half a thou' }, { stall: true }] });
      const asked = await api(world.bob, 'POST', '/advice', {});
      const opened = await bobSocket.take((frame) => frame.type === 'advice' && frame.advice.runId === asked.body.runId);
      await bobSocket.take((frame) => frame.type === 'advice.delta' && frame.adviceId === opened.advice.id);
      const dismissed = await api(world.bob, 'POST', `/advice/${opened.advice.id}/dismiss`);
      assert.equal(dismissed.body.status, 'dismissed');
      await world.provider.requests.at(-1)!.aborted;
      const run = await world.server.request('GET', `/api/v1/runs/${asked.body.runId}`, { token: world.bob.accessToken });
      assert.equal(run.body.status, 'cancelled');
      const done = await bobSocket.take((frame) => frame.type === 'advice.done' && frame.advice.id === opened.advice.id);
      assert.equal(done.advice.status, 'dismissed');
      assert.equal(done.advice.content, 'half a thou');
    });

    it("keeps an advice run's record to its owner: another member gets not_found reading or cancelling it", async () => {
      world.provider.enqueue({ steps: [{ text: 'thinking' }, { stall: true }] });
      const asked = await api(world.bob, 'POST', '/advice', {});
      const opened = await bobSocket.take((frame) => frame.type === 'advice' && frame.advice.runId === asked.body.runId);
      await bobSocket.take((frame) => frame.type === 'advice.delta' && frame.adviceId === opened.advice.id);
      const runPath = `/api/v1/runs/${asked.body.runId}`;
      for (const [method, path] of [
        ['GET', runPath],
        ['POST', `${runPath}/cancel`],
      ] as const) {
        const response = await world.server.request(method, path, { token: world.alice.accessToken });
        assert.equal(response.status, 404, `${method} ${path}`);
        assert.equal(response.body.error.code, 'not_found');
      }
      const cancelFrame = await aliceSocket.request({ type: 'cancel', runId: asked.body.runId });
      assert.equal(cancelFrame.type, 'error');
      assert.equal(cancelFrame.code, 'not_found');
      const running = await world.server.request('GET', runPath, { token: world.bob.accessToken });
      assert.equal(running.status, 200);
      assert.equal(running.body.status, 'running', "another member's cancel did nothing");
      assert.ok(!world.provider.requests.at(-1)!.isAborted());
      // Another request waits behind it in bob's mailbox: before it has any advice, its record is his alone.
      const queued = await api(world.bob, 'POST', '/advice', {});
      const queuedPath = `/api/v1/runs/${queued.body.runId}`;
      const byBob = await world.server.request('GET', queuedPath, { token: world.bob.accessToken });
      assert.deepEqual([byBob.status, byBob.body.status], [200, 'queued']);
      const byAlice = await world.server.request('GET', queuedPath, { token: world.alice.accessToken });
      assert.equal(byAlice.status, 404, 'a queued advice run is private too');
      const queuedCancelled = await world.server.request('POST', `${queuedPath}/cancel`, { token: world.bob.accessToken });
      assert.equal(queuedCancelled.body.status, 'cancelled');
      const cancelled = await world.server.request('POST', `${runPath}/cancel`, { token: world.bob.accessToken });
      assert.equal(cancelled.status, 200);
      assert.equal(cancelled.body.status, 'cancelled');
      await bobSocket.take((frame) => frame.type === 'advice.done' && frame.advice.id === opened.advice.id);
      const recorded = await bobSocket.take((frame) => frame.type === 'advice' && frame.advice.runId === queued.body.runId);
      assert.equal(recorded.advice.status, 'cancelled');
    });

    it('answers not_found for someone else’s advice or a conversation you are not in, invalid_request without an agent', async () => {
      const asked = await api(world.bob, 'POST', '/advice', {});
      const done = await bobSocket.take((frame) => frame.type === 'advice.done' && frame.advice.runId === asked.body.runId);
      for (const action of ['send', 'dismiss']) {
        const response = await api(world.alice, 'POST', `/advice/${done.advice.id}/${action}`, {});
        assert.equal(response.status, 404, action);
        assert.equal(response.body.error.code, 'not_found');
      }
      assert.equal((await api(world.bob, 'GET', '/advice')).body.items.at(-1).status, 'ready', 'untouched');

      const noBinding = await api(world.alice, 'POST', '/advice', {});
      assert.equal(noBinding.status, 400);
      const mallory = await world.server.register(`other-${Math.random().toString(36).slice(2, 8)}`, 'mallory');
      const foreignAgent = await world.createAgent({ handle: 'foreign' }, mallory);
      assert.equal((await api(world.alice, 'POST', '/advice', { agentId: foreignAgent.id })).status, 404);
      assert.equal((await api(mallory, 'POST', '/advice', { agentId: foreignAgent.id })).status, 404);
      assert.equal((await api(mallory, 'GET', '/advice')).status, 404);
    });
  });
}
