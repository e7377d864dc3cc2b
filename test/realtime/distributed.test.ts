import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { TestClient, type Frame } from './client.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const skip = !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL (scripts/test-services.sh start)' : false;

describe('real-time across two nodes over Redis', { skip }, () => {
  let nodeA: TestServer;
  let nodeB: TestServer;
  let alice: Session;
  let bob: Session;
  const clients: TestClient[] = [];

  before(async () => {
    const databaseUrl = await postgres!.createUrl();
    const env = { REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: 'realtime-distributed-secret-realtime-distributed' };
    nodeA = await startTestServer({ databaseUrl, env });
    nodeB = await startTestServer({ databaseUrl, env });
    alice = await nodeA.register('globex', 'alice');
    const invite = await nodeA.request('POST', '/api/v1/invites', { token: alice.accessToken, body: {} });
    bob = await nodeB.register('globex', 'bob', invite.body.code);
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await nodeA?.close();
    await nodeB?.close();
  });

  it('delivers joins, messages, typing and presence between connections on different nodes', async () => {
    const aliceOnA = await TestClient.connect(nodeA, alice.accessToken);
    const bobOnB = await TestClient.connect(nodeB, bob.accessToken);
    clients.push(aliceOnA, bobOnB);
    const created = await nodeA.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'across', members: [{ type: 'user', id: bob.user.id }] },
    });
    const conversationId = created.body.id as string;
    await bobOnB.take((frame) => frame.type === 'conversation.joined' && frame.conversation.id === conversationId);
    await aliceOnA.take((frame) => frame.type === 'conversation.joined');

    const acks: Frame[] = [];
    for (let index = 1; index <= 10; index++) {
      acks.push(await bobOnB.request({ type: 'send', conversationId, clientMsgId: `b${index}`, content: `from B ${index}` }));
    }
    await aliceOnA.take((frame) => frame.type === 'message' && frame.message.id === acks.at(-1)!.message.id);
    assert.deepEqual(
      aliceOnA.messageSeqs(conversationId),
      Array.from({ length: 10 }, (_, index) => index + 1),
    );

    aliceOnA.send({ type: 'typing', conversationId });
    const typing = await bobOnB.take((frame) => frame.type === 'typing');
    assert.equal(typing.userId, alice.user.id);

    const bobSecondDevice = await TestClient.connect(nodeA, bob.accessToken);
    await bobSecondDevice.close();
    await bobOnB.close();
    const offline = await aliceOnA.take(
      (frame) => frame.type === 'presence' && frame.userId === bob.user.id && frame.status === 'offline',
    );
    assert.ok(offline);
    const bobFrames = aliceOnA.frames.filter((frame) => frame.type === 'presence' && frame.userId === bob.user.id);
    assert.deepEqual(
      bobFrames.map((frame) => frame.status),
      ['offline'],
      'a second device on the other node changes nothing until the last connection closes',
    );
  });
});
