import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testDatabases } from '../support/databases.ts';
import { call, postgresBin, startNode, startPostgres, startRedis, waitFor, type NodeProcess } from '../support/cluster.ts';
import { TestClient, type Frame } from '../realtime/client.ts';
import { ResumingReader } from './resuming-client.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const jwtSecret = 'cluster-faults-secret-cluster-faults-secret';

/** Registers a user (and a workspace) on `url`. */
async function register(url: string, workspace: string, handle: string, inviteCode?: string) {
  const response = await call(url, 'POST', '/api/v1/auth/register', {
    body: { workspace, handle, password: 'correct horse battery', ...(inviteCode ? { inviteCode } : {}) },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body as { accessToken: string; user: { id: string } };
}

describe('Redis restarting under a running cluster', { skip: postgres ? false : 'needs TEST_DATABASE_URL' }, () => {
  const nodes: NodeProcess[] = [];
  const clients: TestClient[] = [];
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await Promise.all(nodes.map((node) => node.stop()));
  });

  it('nodes reconnect and resume fan-out by themselves; nothing acked is lost', async () => {
    const redis = await startRedis();
    try {
      const env = { DATABASE_URL: (await postgres!.createUrl())!, REDIS_URL: redis.url, CHORUS_JWT_SECRET: jwtSecret };
      const [nodeA, nodeB] = await Promise.all([startNode('all', env), startNode('all', env)]);
      nodes.push(nodeA, nodeB);
      const alice = await register(nodeA.url, 'redis-restart', 'alice');
      const code = (await call(nodeA.url, 'POST', '/api/v1/invites', { token: alice.accessToken, body: {} })).body.code;
      const bob = await register(nodeB.url, 'redis-restart', 'bob', code);
      const created = await call(nodeA.url, 'POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', members: [{ type: 'user', id: bob.user.id }] },
      });
      const conversationId = created.body.id as string;
      const aliceOnA = await TestClient.connect(nodeA, alice.accessToken);
      clients.push(aliceOnA);
      const bobReader = new ResumingReader(bob.accessToken, conversationId);
      await bobReader.connect(nodeB.url);
      clients.push(bobReader.client!);

      const acked = new Map<string, number>();
      const send = async (clientMsgId: string): Promise<Frame> => {
        const answer = await aliceOnA.request({ type: 'send', conversationId, clientMsgId, content: clientMsgId }, 30_000);
        if (answer.type === 'ack') acked.set(clientMsgId, answer.message.seq);
        return answer;
      };
      for (let index = 0; index < 20; index++) assert.equal((await send(`before-${index}`)).type, 'ack');
      await bobReader.until(20, 20_000);

      await redis.kill();
      // While Redis is down a send is stored or refused; either way its answer comes, and a refusal is retryable.
      const during: Frame[] = [];
      for (let index = 0; index < 5; index++) during.push(await send(`during-${index}`));
      for (const answer of during.filter((frame) => frame.type === 'error')) assert.equal(answer.code, 'unavailable');
      await redis.start();
      for (const node of [nodeA, nodeB]) {
        await waitFor(
          'readiness after Redis came back',
          async () => (await call(node.url, 'GET', '/readyz')).status === 200,
          30_000,
        );
      }

      // The same ids again (the client's outbox would do this); then new messages must fan out live from A to B.
      for (let index = 0; index < 5; index++) {
        if (!acked.has(`during-${index}`)) assert.equal((await send(`during-${index}`)).type, 'ack');
      }
      const liveBefore = bobReader.applied.length;
      for (let index = 0; index < 20; index++) assert.equal((await send(`after-${index}`)).type, 'ack');
      const lastSeq = Math.max(...acked.values());
      await bobReader.until(lastSeq, 30_000);
      assert.ok(bobReader.applied.length > liveBefore);
      assert.deepEqual(
        bobReader.applied.map((message) => message.seq),
        Array.from({ length: lastSeq }, (_, index) => index + 1),
      );
      assert.equal(acked.size, 45);
      assert.equal(new Set(bobReader.applied.map((message) => message.clientMsgId)).size, 45, 'each message once');
    } finally {
      await redis.kill();
    }
  });
});

describe(
  'PostgreSQL unreachable',
  { skip: redisUrl && postgresBin() ? false : 'needs TEST_REDIS_URL and PostgreSQL binaries' },
  () => {
    let node: NodeProcess | undefined;
    let client: TestClient | undefined;
    after(async () => {
      client?.ws.terminate();
      await node?.stop();
    });

    it('readiness says so, sends get a retryable 503-style error, nothing acked is lost', async () => {
      const database = await startPostgres();
      try {
        node = await startNode('all', { DATABASE_URL: database.url, REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: jwtSecret });
        const alice = await register(node.url, 'pg-down', 'alice');
        const created = await call(node.url, 'POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group' },
        });
        const conversationId = created.body.id as string;
        client = await TestClient.connect(node, alice.accessToken);
        const acked = new Map<string, number>();
        const send = async (clientMsgId: string) => {
          const answer = await client!.request({ type: 'send', conversationId, clientMsgId, content: clientMsgId }, 30_000);
          if (answer.type === 'ack') acked.set(clientMsgId, answer.message.seq);
          return answer;
        };
        for (let index = 0; index < 10; index++) assert.equal((await send(`up-${index}`)).type, 'ack');

        await database.stop();
        const notReady = await waitFor('readiness to fail', async () => {
          const ready = await call(node!.url, 'GET', '/readyz');
          return ready.status === 503 ? ready : undefined;
        });
        assert.match(notReady.body.error.message, /Database unreachable/);
        const refused = await send('down-ws');
        assert.deepEqual([refused.type, refused.code], ['error', 'unavailable'], JSON.stringify(refused));
        const posted = await call(node.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
          token: alice.accessToken,
          body: { content: 'down-http', clientMsgId: 'down-http' },
          timeoutMs: 30_000,
        });
        assert.equal(posted.status, 503, JSON.stringify(posted.body));
        assert.equal(posted.body.error.code, 'unavailable');
        assert.equal((await call(node.url, 'GET', '/healthz')).status, 200, 'the process itself is alive');

        await database.start();
        await waitFor(
          'readiness after PostgreSQL came back',
          async () => (await call(node!.url, 'GET', '/readyz')).status === 200,
          30_000,
        );
        assert.equal((await send('down-ws')).type, 'ack', 'the refused send succeeds when retried');
        const history = await call(node.url, 'GET', `/api/v1/conversations/${conversationId}/messages?afterSeq=0&limit=100`, {
          token: alice.accessToken,
        });
        const stored = new Map<string, number>(
          history.body.items.map((message: { clientMsgId: string; seq: number }) => [message.clientMsgId, message.seq]),
        );
        for (const [id, seq] of acked) assert.equal(stored.get(id), seq, `acked ${id} kept at seq ${seq}`);
        assert.equal(stored.size, history.body.items.length, 'no message stored twice');
      } finally {
        client?.ws.terminate();
        await node?.stop();
        node = undefined;
        await database.destroy();
      }
    });
  },
);
