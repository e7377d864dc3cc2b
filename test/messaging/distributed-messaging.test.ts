import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const skip = !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL' : false;

describe('messaging across two nodes (PostgreSQL, Redis, one S3 bucket)', { skip }, () => {
  let nodeA: TestServer;
  let nodeB: TestServer;
  let s3: S3Server;
  let alice: Session;
  let bob: Session;
  let conversationId: string;

  before(async () => {
    s3 = await startS3Server();
    const databaseUrl = await postgres!.createUrl();
    const env = { REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: 'messaging-distributed-secret-0123456789abcdef', ...s3.env };
    nodeA = await startTestServer({ databaseUrl, env });
    nodeB = await startTestServer({ databaseUrl, env });
    alice = await nodeA.register('acme', 'alice');
    bob = await nodeA.join(alice, 'bob');
    conversationId = (
      await nodeA.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', title: 'nodes', members: [{ type: 'user', id: bob.user.id }] },
      })
    ).body.id;
  });
  after(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await s3?.close();
  });

  it('sends edits and reactions made on one node live to sockets on the other, with one change counter', async () => {
    const watcher = await TestClient.connect(nodeB, bob.accessToken);
    try {
      const message = (
        await nodeA.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
          token: alice.accessToken,
          body: { content: 'on node A' },
        })
      ).body;
      const [edited, reacted] = await Promise.all([
        nodeA.request('PATCH', `/api/v1/messages/${message.id}`, { token: alice.accessToken, body: { content: 'edited on A' } }),
        nodeB.request('PUT', `/api/v1/messages/${message.id}/reactions/${encodeURIComponent('👍')}`, { token: bob.accessToken }),
      ]);
      assert.equal(edited.status, 200);
      assert.equal(reacted.status, 200);
      assert.deepEqual(
        [edited.body.updatedSeq, reacted.body.updatedSeq].sort((a, b) => a - b),
        [1, 2],
        'two changes on two nodes took two counter values, no gap, no repeat',
      );
      const last = await watcher.take(
        (frame) =>
          frame.type === 'message.updated' &&
          frame.message.id === message.id &&
          frame.message.content === 'edited on A' &&
          frame.message.reactions.length === 1,
      );
      assert.equal(last.message.updatedSeq, 2);
    } finally {
      await watcher.close();
    }
  });

  it('serves an attachment uploaded on one node from the other, and deletes it from both', async () => {
    const png = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#22aa44' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'green.png');
    const uploaded = await fetch(`${nodeA.url}/api/v1/conversations/${conversationId}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.accessToken}` },
      body: form,
    });
    assert.equal(uploaded.status, 201);
    const part = await uploaded.json();
    const sent = await nodeA.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: 'picture', attachmentIds: [part.attachmentId] },
    });
    const fromB = await fetch(nodeB.url + part.url, { headers: { authorization: `Bearer ${bob.accessToken}` } });
    assert.equal(fromB.status, 200);
    assert.deepEqual(Buffer.from(await fromB.arrayBuffer()), png);
    assert.equal((await nodeB.request('DELETE', `/api/v1/messages/${sent.body.id}`, { token: alice.accessToken })).status, 200);
    for (const node of [nodeA, nodeB]) {
      const gone = await fetch(node.url + part.thumbnailUrl, { headers: { authorization: `Bearer ${bob.accessToken}` } });
      assert.equal(gone.status, 404);
    }
  });
});
