import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../support/databases.ts';
import { call, startNode, waitFor, type NodeProcess } from '../support/cluster.ts';
import { TestClient } from '../realtime/client.ts';
import { ResumingReader, sendBurst } from './resuming-client.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const skip = !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL (scripts/test-services.sh start)' : false;

const burstSize = 2_000;
const presenceTtlMs = 2_000;

describe('a cluster of two api nodes and a worker, as child processes', { skip }, () => {
  let apiA: NodeProcess;
  let apiB: NodeProcess;
  let worker: NodeProcess;
  const clients: TestClient[] = [];

  before(async () => {
    const env = {
      DATABASE_URL: (await postgres!.createUrl())!,
      REDIS_URL: redisUrl!,
      CHORUS_JWT_SECRET: 'cluster-test-secret-cluster-test-secret-0123',
      CHORUS_PRESENCE_TTL_MS: String(presenceTtlMs),
    };
    // Started together on an empty database: migrations take turns (advisory lock).
    [apiA, apiB, worker] = await Promise.all([startNode('api', env), startNode('api', env), startNode('worker', env)]);
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await Promise.all([apiA?.stop(), apiB?.stop(), worker?.stop()]);
  });

  it('a worker node serves only /healthz, /readyz and /metrics', async () => {
    assert.equal((await call(worker.url, 'GET', '/healthz')).status, 200);
    const ready = await call(worker.url, 'GET', '/readyz');
    assert.deepEqual([ready.status, ready.body.redis], [200, 'ok']);
    assert.equal((await call(worker.url, 'GET', '/metrics')).status, 200);
    const api = await call(worker.url, 'POST', '/api/v1/auth/register', {
      body: { workspace: 'w', handle: 'h', password: 'correct horse battery' },
    });
    assert.equal(api.status, 404);
    assert.equal((await call(worker.url, 'GET', '/')).status, 404, 'no web client either');
  });

  it('kill -9 of an api node: its clients resume on the other node exactly once, nothing acked is lost, its users go offline', async () => {
    const register = async (handle: string, inviteCode?: string) => {
      const response = await call(apiB.url, 'POST', '/api/v1/auth/register', {
        body: { workspace: 'cluster-kill', handle, password: 'correct horse battery', ...(inviteCode ? { inviteCode } : {}) },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body as { accessToken: string; user: { id: string } };
    };
    const invite = async (token: string) =>
      (await call(apiB.url, 'POST', '/api/v1/invites', { token, body: {} })).body.code as string;
    const alice = await register('alice');
    const [bob, carol, dave] = [
      await register('bob', await invite(alice.accessToken)),
      await register('carol', await invite(alice.accessToken)),
      await register('dave', await invite(alice.accessToken)),
    ];
    const created = await call(apiA.url, 'POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: {
        kind: 'group',
        title: 'burst',
        members: [bob, carol, dave].map((member) => ({ type: 'user', id: member.user.id })),
      },
    });
    assert.equal(created.status, 201);
    const conversationId = created.body.id as string;

    // Carol watches from B; dave is connected to A only; bob reads the burst on A.
    const carolOnB = await TestClient.connect(apiB, carol.accessToken);
    const daveOnA = await TestClient.connect(apiA, dave.accessToken);
    clients.push(carolOnB, daveOnA);
    await waitFor('dave online as seen from B', async () =>
      carolOnB.frames.some((frame) => frame.type === 'presence' && frame.userId === dave.user.id && frame.status === 'online'),
    );
    const bobReader = new ResumingReader(bob.accessToken, conversationId);
    await bobReader.connect(apiA.url);
    clients.push(bobReader.client!);

    const ids = Array.from({ length: burstSize }, (_, index) => `k${String(index).padStart(4, '0')}`);
    const acked = new Map<string, number>();
    let killed: Promise<void> | undefined;
    const killAt = Math.floor(burstSize / 3);
    await sendBurst({
      url: apiA.url,
      token: alice.accessToken,
      conversationId,
      clientMsgIds: ids,
      acked,
      onAck: () => {
        if (acked.size >= killAt) killed ??= apiA.kill();
      },
    });
    await killed;
    assert.ok(killed, 'node A was killed mid-burst');
    const ackedBeforeKill = acked.size;
    assert.ok(ackedBeforeKill < burstSize, `the burst was cut (${ackedBeforeKill} acked)`);

    // Both clients go to B: bob resumes from his last seq, alice resends what was not acked, same ids.
    const bobSeqBefore = bobReader.lastSeq;
    await bobReader.connect(apiB.url);
    clients.push(bobReader.client!);
    for (let round = 0; round < 3 && acked.size < burstSize; round++) {
      await sendBurst({ url: apiB.url, token: alice.accessToken, conversationId, clientMsgIds: ids, acked });
    }
    assert.equal(acked.size, burstSize, 'every message is acked in the end');
    await bobReader.until(burstSize, 60_000);

    const seqs = bobReader.applied.map((message) => message.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: burstSize }, (_, index) => index + 1),
      'bob sees every seq once, in order',
    );
    assert.ok(bobSeqBefore > 0, 'bob had read part of the burst on A');
    const shownIds = bobReader.applied.map((message) => message.clientMsgId);
    assert.equal(new Set(shownIds).size, burstSize, 'no message stored twice despite the resends');
    assert.deepEqual(new Set(shownIds), new Set(ids));

    // The store agrees: each acked message is there with the seq its ack carried.
    const stored = new Map<string, number>();
    for (let afterSeq = 0; ;) {
      const page = await call(
        apiB.url,
        'GET',
        `/api/v1/conversations/${conversationId}/messages?afterSeq=${afterSeq}&limit=200`,
        {
          token: alice.accessToken,
        },
      );
      assert.equal(page.status, 200);
      for (const message of page.body.items) stored.set(message.clientMsgId, message.seq);
      if (page.body.items.length === 0) break;
      afterSeq = page.body.items.at(-1).seq;
    }
    assert.equal(stored.size, burstSize);
    for (const [id, seq] of acked) assert.equal(stored.get(id), seq, `acked ${id} is stored at seq ${seq}`);

    // Dave's only connection died with A: B announces him offline once A's presence expires.
    const offline = await carolOnB.take(
      (frame) => frame.type === 'presence' && frame.userId === dave.user.id && frame.status === 'offline',
      presenceTtlMs * 2 + 20_000,
    );
    assert.ok(offline);
    const bobOffline = carolOnB.frames.filter(
      (frame) => frame.type === 'presence' && frame.userId === bob.user.id && frame.status === 'offline',
    );
    assert.deepEqual(bobOffline, [], 'bob reconnected to B: he never went offline');
    const status = await carolOnB.request({ type: 'ping' });
    assert.equal(status.type, 'pong');
  });
});
