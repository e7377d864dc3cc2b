import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../realtime/client.ts';
import { startAgentWorld, type AgentWorld } from './support.ts';

describe('agent replies over the WebSocket', () => {
  let world: AgentWorld;
  let client: TestClient;
  let conversationId: string;

  before(async () => {
    world = await startAgentWorld();
    const agent = await world.createAgent({ handle: 'socket' });
    conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
    client = await TestClient.connect(world.server, world.alice.accessToken);
  });
  after(async () => {
    client.ws.close();
    await world.close();
  });

  it('streams message, deltas and message.done frames to a connected client', async () => {
    world.provider.enqueue({
      steps: [{ text: 'over ' }, { text: 'the ' }, { text: 'wire' }],
      usage: { inputTokens: 9, outputTokens: 3 },
    });
    const ack = await client.request({ type: 'send', conversationId, clientMsgId: 'ws-1', content: 'hello socket' });
    assert.equal(ack.type, 'ack');
    const started = await client.take((frame) => frame.type === 'message' && frame.message.sender.type === 'agent');
    assert.equal(started.message.status, 'streaming');
    const done = await client.take((frame) => frame.type === 'message.done');
    assert.equal(done.message.id, started.message.id);
    assert.equal(done.message.content, 'over the wire');
    assert.equal(done.message.usage.outputTokens, 3);
    const deltas = client.frames.filter((frame) => frame.type === 'message.delta' && frame.messageId === started.message.id);
    assert.equal(deltas.map((frame) => frame.delta).join(''), 'over the wire');
    assert.ok(client.frames.some((frame) => frame.type === 'run.step' && frame.runId === started.message.runId));
  });

  it('cancels a run with the cancel frame', async () => {
    world.provider.enqueue({ steps: [{ text: 'interrupt ' }, { stall: true }] });
    await client.request({ type: 'send', conversationId, clientMsgId: 'ws-2', content: 'talk forever' });
    const started = await client.take((frame) => frame.type === 'message' && frame.message.sender.type === 'agent');
    await client.take((frame) => frame.type === 'message.delta' && frame.messageId === started.message.id);
    const ack = await client.request({ type: 'cancel', runId: started.message.runId });
    assert.equal(ack.type, 'ack');
    const done = await client.take((frame) => frame.type === 'message.done' && frame.message.id === started.message.id);
    assert.equal(done.message.status, 'cancelled');
    assert.equal(done.message.content, 'interrupt ');
    await world.provider.requests.at(-1)!.aborted;
  });
});
