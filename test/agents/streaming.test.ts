import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../support/databases.ts';
import { createGate } from '../support/fake-providers.ts';
import { startAgentWorld, type AgentWorld } from './support.ts';

for (const database of testDatabases())
  describe(`agent replies stream end to end on ${database.name}`, () => {
    let world: AgentWorld;
    let agent: any;
    let conversationId: string;

    before(async () => {
      world = await startAgentWorld({ databaseUrl: await database.createUrl(), env: { CHORUS_PARTIAL_SAVE_INTERVAL_MS: '20' } });
      agent = await world.createAgent({ handle: 'helper', systemPrompt: 'You are helpful.' });
      conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
    });
    after(() => world.close());

    it('streams a reply as message, deltas, run.step and message.done, and stores it complete', async () => {
      const log = world.watch(conversationId);
      world.provider.enqueue({
        steps: [{ text: 'Hel' }, { text: 'lo ' }, { text: 'there' }],
        usage: { inputTokens: 21, outputTokens: 3 },
      });
      const sent = await world.send(conversationId, 'hi');
      const done = await log.done();
      log.stop();

      const started = log.of('message').find((event) => event.message.sender.type === 'agent').message;
      assert.equal(started.status, 'streaming');
      assert.equal(started.content, '');
      assert.ok(started.runId);
      assert.equal(started.seq, sent.seq + 1);
      const deltas = log.of('message.delta');
      assert.ok(deltas.length >= 1);
      for (const delta of deltas) assert.equal(delta.messageId, started.id);
      assert.equal(deltas.map((delta) => delta.delta).join(''), 'Hello there');
      assert.equal(done.id, started.id);
      assert.equal(done.status, 'complete');
      assert.equal(done.content, 'Hello there');
      assert.equal(done.usage.inputTokens, 21);
      assert.equal(done.usage.outputTokens, 3);
      assert.equal(done.usage.model, 'openai/fake-model');
      assert.ok(done.usage.latencyMs >= 0);
      const steps = log.of('run.step');
      // The default chain: memory_load → rag → generate → memory_store, each started then finished.
      assert.deepEqual(
        steps.map((event) => [event.step.type, event.step.finishedAt === null]),
        [
          ['memory_load', true],
          ['memory_load', false],
          ['rag', true],
          ['rag', false],
          ['generate', true],
          ['generate', false],
          ['memory_store', true],
          ['memory_store', false],
        ],
      );
      const messageAt = log.events.findIndex((event) => event.type === 'message' && (event.message as any).id === started.id);
      assert.ok(log.events.findIndex((event) => event.type === 'run.step') > messageAt, 'run.step follows the reply message');
      assert.equal(log.events.at(-1)!.type, 'message.done', 'no delta trails message.done');

      const request = world.provider.requests.at(-1)!;
      assert.deepEqual(request.body.messages, [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'alice: hi' },
      ]);
      assert.equal(request.body.stream, true);

      const history = await world.server.request('GET', `/api/v1/conversations/${conversationId}/messages?limit=10`, {
        token: world.alice.accessToken,
      });
      const stored = history.body.items.find((message: any) => message.id === started.id);
      assert.equal(stored.status, 'complete');
      assert.equal(stored.content, 'Hello there');

      const run = await world.server.request('GET', `/api/v1/runs/${started.runId}`, { token: world.alice.accessToken });
      assert.equal(run.status, 200);
      assert.equal(run.body.status, 'completed');
      assert.equal(run.body.messageId, started.id);
      assert.equal(run.body.triggerMessageId, sent.id);
      assert.deepEqual(
        run.body.steps.map((step: any) => step.type),
        ['memory_load', 'rag', 'generate', 'memory_store'],
      );
      assert.equal(run.body.steps[0].output.skipped, 'memory is off for this agent');
      assert.equal(run.body.steps[1].output.skipped, 'no knowledge bases');
      assert.equal(run.body.steps[2].input.model, 'openai/fake-model');
      assert.equal(run.body.steps[2].output.finishReason, 'stop');
      assert.deepEqual(run.body.steps[2].usage, { inputTokens: 21, outputTokens: 3 });
    });

    it('coalesces deltas to at most one frame per 30 ms per message', async () => {
      const log = world.watch(conversationId);
      const gate = createGate();
      const tokens = Array.from({ length: 40 }, (_, index) => ({ text: `t${index} ` }));
      world.provider.enqueue({
        steps: [...tokens, { gate: gate.promise }, ...tokens.map((token) => [token, { delayMs: 2 }]).flat(), { text: 'end' }],
      });
      await world.send(conversationId, 'count');
      await log.waitFor((event) => event.type === 'message.delta');
      gate.open();
      const done = await log.done();
      log.stop();
      const deltaTimes = log.events.flatMap((event, index) => (event.type === 'message.delta' ? [log.receivedAt[index]] : []));
      const deltas = log.of('message.delta');
      assert.ok(deltas.length < 40, `81 tokens arrive in ${deltas.length} frames`);
      // The last frame is flushed early, right before message.done; every other gap is a full window.
      for (let index = 1; index < deltaTimes.length - 1; index++) {
        assert.ok(
          deltaTimes[index] - deltaTimes[index - 1] >= 28,
          `frames ${index - 1} and ${index} only ${deltaTimes[index] - deltaTimes[index - 1]} ms apart`,
        );
      }
      assert.equal(deltas.map((delta) => delta.delta).join(''), done.content);
    });

    it('saves partial content while streaming and shows the running run with its message', async () => {
      const log = world.watch(conversationId);
      const gate = createGate();
      world.provider.enqueue({ steps: [{ text: 'partial ' }, { text: 'words' }, { gate: gate.promise }, { text: '!' }] });
      await world.send(conversationId, 'go');
      const started = (await log.waitFor((event) => event.type === 'message' && (event.message as any).sender.type === 'agent'))
        .message as any;
      let stored: any;
      do {
        const page = await world.server.request('GET', `/api/v1/conversations/${conversationId}/messages?limit=2`, {
          token: world.alice.accessToken,
        });
        stored = page.body.items.find((message: any) => message.id === started.id);
      } while (stored.content !== 'partial words');
      assert.equal(stored.status, 'streaming');
      const running = await world.server.request('GET', `/api/v1/runs/${started.runId}`, { token: world.alice.accessToken });
      assert.equal(running.body.status, 'running');
      assert.equal(running.body.messageId, started.id);
      gate.open();
      const done = await log.done();
      log.stop();
      assert.equal(done.content, 'partial words!');
    });

    it('estimates usage with the tokenizer when the provider reports none', async () => {
      const log = world.watch(conversationId);
      world.provider.enqueue({ steps: [{ text: 'no usage here' }], usage: null });
      await world.send(conversationId, 'count yourself');
      const done = await log.done();
      log.stop();
      assert.equal(done.status, 'complete');
      assert.equal(done.usage.outputTokens, 3);
      assert.ok(done.usage.inputTokens > 0);
    });

    it('hides a run from non-members with 404', async () => {
      const log = world.watch(conversationId);
      await world.send(conversationId, 'one more');
      const done = await log.done();
      log.stop();
      const stranger = await world.server.register('elsewhere', 'mallory');
      const response = await world.server.request('GET', `/api/v1/runs/${done.runId}`, { token: stranger.accessToken });
      assert.equal(response.status, 404);
      assert.equal(response.body.error.code, 'not_found');
    });
  });
