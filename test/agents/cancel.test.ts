import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createModelRegistry } from '../../src/providers/model-registry.ts';
import { PartialContentWriter } from '../../src/runs/partial-content-writer.ts';
import { RunService } from '../../src/runs/run-service.ts';
import { createGate } from '../support/fake-providers.ts';
import { startAgentWorld, type AgentWorld } from './support.ts';

describe('cancelling runs and clients leaving', () => {
  let world: AgentWorld;
  let agent: any;
  let conversationId: string;

  before(async () => {
    world = await startAgentWorld();
    agent = await world.createAgent({ handle: 'talker' });
    conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
  });
  after(() => world.close());

  const cancel = (runId: string) =>
    world.server.request('POST', `/api/v1/runs/${runId}/cancel`, { token: world.alice.accessToken });

  it('aborts the upstream request mid-stream, keeps the partial text and ends cancelled once', async () => {
    const log = world.watch(conversationId);
    world.provider.enqueue({ steps: [{ text: 'half an ' }, { text: 'answer' }, { stall: true }] });
    await world.send(conversationId, 'tell me everything');
    const delta = await log.waitFor((event) => event.type === 'message.delta');
    const upstream = world.provider.requests.at(-1)!;
    const started = log.of('message').find((event) => event.message.id === delta.messageId).message;

    const first = await cancel(started.runId);
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'cancelled');
    await upstream.aborted;
    const second = await cancel(started.runId);
    assert.equal(second.status, 200, 'cancelling twice is harmless');
    assert.equal(second.body.status, 'cancelled');

    const done = await log.done();
    assert.equal(done.status, 'cancelled');
    assert.equal(done.content, 'half an answer');
    assert.equal(log.of('message.done').length, 1);
    log.stop();
    const stored = await world.server.request('GET', `/api/v1/conversations/${conversationId}/messages?limit=1`, {
      token: world.alice.accessToken,
    });
    assert.equal(stored.body.items[0].status, 'cancelled');
    assert.equal(stored.body.items[0].content, 'half an answer');
  });

  it('cancels through the WebSocket seam (context.cancelRun) as well', async () => {
    const log = world.watch(conversationId);
    world.provider.enqueue({ steps: [{ text: 'x' }, { stall: true }] });
    await world.send(conversationId, 'again');
    const delta = await log.waitFor((event) => event.type === 'message.delta');
    const runId = log.of('message').find((event) => event.message.id === delta.messageId).message.runId;
    const principal = { userId: world.alice.user.id, workspaceId: world.alice.workspace.id };
    await Promise.all([world.server.context.cancelRun(principal, runId), world.server.context.cancelRun(principal, runId)]);
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'cancelled');
    assert.equal(log.of('message.done').length, 1);
  });

  it('relays a cancel to the node running the run', async () => {
    const { context } = world.server;
    const otherNode = new RunService({
      ...context,
      models: createModelRegistry(context.config),
      agentsConfig: context.config.agents,
      partialContent: new PartialContentWriter(context.db),
      retrieval: context.knowledge!.retrieval,
    });
    try {
      const log = world.watch(conversationId);
      world.provider.enqueue({ steps: [{ text: 'far away' }, { stall: true }] });
      await world.send(conversationId, 'from another node');
      const delta = await log.waitFor((event) => event.type === 'message.delta');
      const runId = log.of('message').find((event) => event.message.id === delta.messageId).message.runId;
      const run = await otherNode.cancel({ userId: world.alice.user.id, workspaceId: world.alice.workspace.id }, runId);
      assert.equal(run.status, 'cancelled');
      const done = await log.done();
      log.stop();
      assert.equal(done.status, 'cancelled');
      assert.equal(done.content, 'far away');
      await world.provider.requests.at(-1)!.aborted;
    } finally {
      await otherNode.stop();
    }
  });

  it('yields exactly one final status when a cancel races the natural end', async () => {
    const log = world.watch(conversationId);
    const gate = createGate();
    world.provider.enqueue({ steps: [{ text: 'almost' }, { gate: gate.promise }, { text: ' done' }] });
    await world.send(conversationId, 'race');
    const delta = await log.waitFor((event) => event.type === 'message.delta');
    const runId = log.of('message').find((event) => event.message.id === delta.messageId).message.runId;
    gate.open();
    const [cancelled] = await Promise.all([cancel(runId), log.done()]);
    const done = await log.done();
    log.stop();
    assert.equal(log.of('message.done').length, 1);
    assert.ok(['complete', 'cancelled'].includes(done.status));
    const run = await world.server.request('GET', `/api/v1/runs/${runId}`, { token: world.alice.accessToken });
    assert.equal(run.body.status, done.status === 'complete' ? 'completed' : 'cancelled');
    assert.equal(cancelled.body.status, run.body.status);
  });

  it('cancels a queued run before it starts: its message appears cancelled and the model is never called', async () => {
    const { findRunByTrigger } = await import('../../src/runs/run-store.ts');
    const log = world.watch(conversationId);
    const gate = createGate();
    world.provider.enqueue({ steps: [{ text: 'busy' }, { gate: gate.promise }] });
    await world.send(conversationId, 'first');
    await log.waitFor((event) => event.type === 'message.delta');
    const second = await world.send(conversationId, 'second');
    const requestsBefore = world.provider.requests.length;
    let queued = await findRunByTrigger(world.server.context.db, second.id, agent.id);
    while (!queued) queued = await findRunByTrigger(world.server.context.db, second.id, agent.id);
    const cancelled = await cancel(queued.id);
    assert.equal(cancelled.body.status, 'cancelled');
    gate.open();
    await log.done(1);
    const done = await log.done(2);
    log.stop();
    assert.equal(done.runId, queued.id);
    assert.equal(done.status, 'cancelled');
    assert.equal(done.content, '');
    assert.equal(world.provider.requests.length, requestsBefore, 'the queued run never reached the provider');
  });

  it('404s a cancel of an unknown run', async () => {
    const response = await cancel('01890000-0000-7000-8000-000000000000');
    assert.equal(response.status, 404);
  });

  it('finishes and saves the reply when the /chat/stream client disconnects', async () => {
    const gate = createGate();
    world.provider.enqueue({ steps: [{ text: 'still ' }, { gate: gate.promise }, { text: 'here' }] });
    const controller = new AbortController();
    const response = await fetch(`${world.server.url}/api/v1/chat/stream`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${world.alice.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'talker', content: 'are you there?' }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('event: message.delta')) received += new TextDecoder().decode((await reader.read()).value);
    const firstMessage = JSON.parse(received.split('event: message\nid: ')[1].split('\n')[1].slice('data: '.length));
    assert.equal(firstMessage.message.conversationId, conversationId, 'uses the existing direct conversation');
    const log = world.watch(conversationId);
    controller.abort();
    gate.open();
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete');
    assert.equal(done.content, 'still here');
  });

  it('streams a whole reply over /chat/stream as SSE ending with message.done', async () => {
    world.provider.enqueue({ steps: [{ text: 'Hi ' }, { text: 'Alice' }] });
    const response = await fetch(`${world.server.url}/api/v1/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.alice.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: '@talker', content: 'greet me' }),
    });
    const text = await response.text();
    const events = text
      .trim()
      .split('\n\n')
      .map((record) => ({ type: /^event: (.+)$/m.exec(record)?.[1], data: JSON.parse(/^data: (.+)$/m.exec(record)![1]) }));
    assert.deepEqual(
      events.map((event) => event.type).filter((type) => type !== 'message.delta' && type !== 'run.step'),
      ['message', 'message', 'message.done'],
    );
    assert.equal(events[0].data.message.sender.type, 'user');
    assert.equal(events[1].data.message.sender.type, 'agent');
    const deltas = events
      .filter((event) => event.type === 'message.delta')
      .map((event) => event.data.delta)
      .join('');
    assert.equal(deltas, 'Hi Alice');
    assert.equal(events.at(-1)!.data.message.content, 'Hi Alice');
  });
});
