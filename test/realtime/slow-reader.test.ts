import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { TestClient } from './client.ts';

describe('slow readers', () => {
  let server: TestServer;
  let alice: Session;
  let bob: Session;
  let conversationId: string;

  before(async () => {
    server = await startTestServer({ env: { CHORUS_WS_MAX_BUFFERED_BYTES: String(256 * 1024) } });
    alice = await server.register('acme', 'alice');
    bob = await server.join(alice, 'bob');
    const created = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'firehose', members: [{ type: 'user', id: bob.user.id }] },
    });
    conversationId = created.body.id;
  });
  after(() => server.close());

  it('cuts off a reader that stops reading with 4008 while the others keep their latency', async () => {
    const sender = await TestClient.connect(server, alice.accessToken);
    const healthy = await TestClient.connect(server, bob.accessToken);
    const slow = await TestClient.connect(server, bob.accessToken);
    // The slow client stops reading: the kernel buffers fill, then the server's outbound buffer.
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const content = 'x'.repeat(60 * 1024);
    const latenciesMs: number[] = [];
    for (let index = 0; index < 200; index++) {
      const sentAt = performance.now();
      const ack = await sender.request({ type: 'send', conversationId, clientMsgId: `flood-${index}`, content });
      await healthy.take((frame) => frame.type === 'message' && frame.message.id === ack.message.id);
      latenciesMs.push(performance.now() - sentAt);
    }
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await slow.closed;
    assert.equal(closed.code, 4008);
    assert.equal(closed.reason, 'too slow, resync');
    assert.ok(slow.messageSeqs(conversationId).length < 200, 'the slow reader did not get everything');
    assert.equal(healthy.messageSeqs(conversationId).length, 200);
    latenciesMs.sort((a, b) => a - b);
    assert.ok(latenciesMs[Math.floor(latenciesMs.length * 0.99)] < 1000, `p99 send-to-delivery ${latenciesMs.at(-1)} ms`);
    assert.equal((await healthy.request({ type: 'ping' })).type, 'pong');
    await Promise.all([sender.close(), healthy.close()]);
  });
});
