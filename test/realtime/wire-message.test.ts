import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { normalizeMessage, RealtimeClient, realtimeUrl, type Message, type ServerEvent } from '../../web/src/client/index.ts';
import { OutboundEvent } from '../../src/realtime/outbound-event.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { TestClient } from './client.ts';

/** Fields a fresh plain user message holds at their default, so its `message` frame omits them. */
const omitted = [
  'threadRootId',
  'onBehalfOf',
  'parts',
  'error',
  'usage',
  'runId',
  'editedAt',
  'deletedAt',
  'updatedSeq',
  'replyCount',
  'lastReplyAt',
  'reactions',
  'forwardedFrom',
];

describe('compact message frames', () => {
  let server: TestServer;
  let alice: Session;
  let conversationId: string;

  before(async () => {
    server = await startTestServer();
    alice = await server.register('acme', 'alice');
    const bob = await server.join(alice, 'bob');
    const created = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'Wire', members: [{ type: 'user', id: bob.user.id }] },
    });
    conversationId = created.body.id;
  });

  after(() => server?.close());

  const restMessage = async (id: string): Promise<Message> =>
    (await server.request('GET', `/api/v1/messages/${id}`, { token: alice.accessToken })).body as Message;

  test('a live message frame omits default fields; the ack and REST stay full; normalising gives the REST shape', async () => {
    const client = await TestClient.connect(server, alice.accessToken, {}, { raw: true });
    try {
      const ack = await client.request({ type: 'send', conversationId, clientMsgId: 'w-1', content: 'hello' });
      const frame = await client.take((received) => received.type === 'message' && received.message.id === ack.message.id);
      for (const key of omitted) assert.ok(!(key in frame.message), `${key} is absent from the frame`);
      assert.deepEqual(Object.keys(frame.message).sort(), [
        'clientMsgId',
        'content',
        'conversationId',
        'createdAt',
        'id',
        'sender',
        'seq',
        'status',
      ]);
      const rest = await restMessage(ack.message.id);
      for (const key of omitted) assert.ok(key in rest, `${key} is in the REST shape`);
      assert.deepEqual(ack.message, rest, 'the ack carries the full message');
      assert.deepEqual(normalizeMessage(frame.message), rest);
      assert.ok(JSON.stringify(frame).length < JSON.stringify({ type: 'message', message: rest }).length);
    } finally {
      client.ws.close();
    }
  });

  test('fields off their default stay on the wire (a thread reply, an edit, a reaction), and the typed client normalises frames', async () => {
    const root = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: 'root' },
    });
    const client = await TestClient.connect(server, alice.accessToken, {}, { raw: true });
    const typed = new RealtimeClient({ url: realtimeUrl(server.url), getToken: async () => alice.accessToken });
    const events: ServerEvent[] = [];
    typed.onEvent((event) => events.push(event));
    typed.start();
    await new Promise<void>((resolve) => {
      const stop = typed.onOpen(() => (stop(), resolve()));
    });
    try {
      const reply = await client.request({
        type: 'send',
        conversationId,
        clientMsgId: 'w-2',
        content: 'reply',
        threadRootId: root.body.id,
      });
      const replyFrame = await client.take((received) => received.type === 'message' && received.message.id === reply.message.id);
      assert.equal(replyFrame.message.threadRootId, root.body.id);
      await client.request({ type: 'edit', messageId: reply.message.id, content: 'reply, edited' });
      await client.request({ type: 'react', messageId: reply.message.id, emoji: '👍', on: true });
      const updated = await client.take(
        (received) =>
          received.type === 'message.updated' &&
          received.message.id === reply.message.id &&
          received.message.reactions !== undefined,
      );
      assert.equal(typeof updated.message.editedAt, 'string');
      assert.equal(updated.message.reactions.length, 1);
      assert.ok(updated.message.updatedSeq > 0);
      assert.ok(!('deletedAt' in updated.message));

      const rest = await restMessage(reply.message.id);
      const deadline = Date.now() + 5_000;
      const typedUpdate = () =>
        events.findLast(
          (event) => event.type === 'message.updated' && event.message.id === reply.message.id && event.message.reactions?.length,
        );
      while (!typedUpdate() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      const seen = typedUpdate();
      assert.ok(seen && seen.type === 'message.updated');
      assert.deepEqual(seen.message, rest, 'the typed client hands its listeners the full REST shape');
      const live = events.find((event) => event.type === 'message' && event.message.id === reply.message.id);
      assert.ok(live && live.type === 'message');
      assert.equal(live.message.deletedAt, null);
      assert.deepEqual(live.message.reactions, []);
      assert.equal(live.message.updatedSeq, 0);
    } finally {
      typed.stop();
      client.ws.close();
    }
  });

  test('the SSE record of a message frame carries the same compact form', async () => {
    const posted = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: 'over sse' },
    });
    const rest = await restMessage(posted.body.id);
    const record = new OutboundEvent({ type: 'message', message: rest }).sse.toString();
    const data = JSON.parse(/^data: (.+)$/m.exec(record)![1]!) as { message: Message };
    assert.match(record, new RegExp(`^event: message\nid: ${rest.seq}\n`));
    for (const key of omitted) assert.ok(!(key in data.message), `${key} is absent from the SSE data`);
    assert.deepEqual(normalizeMessage(data.message), rest);
  });
});
