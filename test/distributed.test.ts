import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appendMessage } from '../src/messages/messages.ts';
import { conversationTopic, type BusEvent } from '../src/bus/event-bus.ts';
import { RedisEventBus } from '../src/bus/event-bus.redis.ts';
import { testDatabases } from './support/databases.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const skip = !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL (scripts/test-services.sh start)' : false;
const jwtSecret = 'distributed-test-secret-distributed-test-secret';

describe('distributed mode: two nodes over one PostgreSQL and one Redis', { skip }, () => {
  let nodeA: TestServer;
  let nodeB: TestServer;

  before(async () => {
    const databaseUrl = await postgres!.createUrl();
    const env = { REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: jwtSecret };
    nodeA = await startTestServer({ databaseUrl, env });
    nodeB = await startTestServer({ databaseUrl, env });
  });
  after(async () => {
    await nodeA?.close();
    await nodeB?.close();
  });

  it('reports Redis in readiness', async () => {
    const ready = await nodeA.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.redis, 'ok');
  });

  it('accepts on one node the tokens issued by the other', async () => {
    const alice = await nodeA.register('acme', 'alice');
    const me = await nodeB.request('GET', '/api/v1/me', { token: alice.accessToken });
    assert.equal(me.status, 200);
  });

  it("fans a message posted on node A out to node B's subscribers", async () => {
    const bob = await nodeA.register('initech', 'bob');
    const conversation = await nodeB.request('POST', '/api/v1/conversations', {
      token: bob.accessToken,
      body: { kind: 'group' },
    });
    const received: BusEvent[] = [];
    const arrived = new Promise<void>((resolve) => {
      nodeB.context.bus.subscribe(conversationTopic(conversation.body.id), (event) => {
        received.push(event);
        if (event.type === 'message') resolve();
      });
    });
    await nodeB.context.bus.ready();
    const posted = await nodeA.request('POST', `/api/v1/conversations/${conversation.body.id}/messages`, {
      token: bob.accessToken,
      body: { content: 'across nodes' },
    });
    await arrived;
    const message = received.find((event) => event.type === 'message')!.message as { id: string; seq: number };
    assert.equal(message.id, posted.body.id);
    assert.equal(message.seq, 1);
  });

  it('shares rate-limit counters between nodes', async () => {
    const databaseUrl = await postgres!.createUrl();
    const env = { REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: jwtSecret, CHORUS_RATE_LIMIT_PER_SECOND: '2' };
    const limitedA = await startTestServer({ databaseUrl, env });
    const limitedB = await startTestServer({ databaseUrl, env });
    try {
      const carol = await limitedA.register(`rl-${Date.now()}`, 'carol');
      const statuses: number[] = [];
      for (let index = 0; index < 6; index++) {
        statuses.push((await limitedA.request('GET', '/api/v1/me', { token: carol.accessToken })).status);
        statuses.push((await limitedB.request('GET', '/api/v1/me', { token: carol.accessToken })).status);
      }
      assert.ok(statuses.includes(429), statuses.join(','));
    } finally {
      await limitedA.close();
      await limitedB.close();
    }
  });

  it('group-commits appends on both nodes into the same conversations without gaps or deadlocks', async () => {
    const carol = await nodeA.register('umbrella', 'carol');
    const rooms: string[] = [];
    for (let index = 0; index < 4; index++) {
      rooms.push(
        (await nodeA.request('POST', '/api/v1/conversations', { token: carol.accessToken, body: { kind: 'group' } })).body.id,
      );
    }
    const append = (node: TestServer, conversationId: string, content: string) =>
      appendMessage(node.context, {
        workspaceId: carol.workspace.id,
        conversationId,
        sender: { type: 'user', id: carol.user.id },
        content,
      });
    // Each node's groups touch the rooms in opposite orders, many times over.
    const sends: Array<Promise<unknown>> = [];
    for (let round = 0; round < 20; round++) {
      for (let index = 0; index < rooms.length; index++) {
        sends.push(append(nodeA, rooms[index], `a${round}`));
        sends.push(append(nodeB, rooms[rooms.length - 1 - index], `b${round}`));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(sends);
    for (const conversationId of rooms) {
      const history = await nodeB.request('GET', `/api/v1/conversations/${conversationId}/messages?afterSeq=0&limit=100`, {
        token: carol.accessToken,
      });
      assert.deepEqual(
        history.body.items.map((message: { seq: number }) => message.seq),
        Array.from({ length: 40 }, (_, index) => index + 1),
      );
    }
  });
});

describe('Redis event bus', { skip: redisUrl ? false : 'needs TEST_REDIS_URL' }, () => {
  it('stops delivering after unsubscribe and survives a throwing handler', async () => {
    const errors: unknown[] = [];
    const bus = new RedisEventBus(redisUrl!, { onHandlerError: (error) => errors.push(error) });
    try {
      const seen: number[] = [];
      const unsubscribeThrowing = bus.subscribe('t:1', () => {
        throw new Error('boom');
      });
      const done = new Promise<void>((resolve) => {
        const unsubscribe = bus.subscribe('t:1', (event) => {
          seen.push(event.n as number);
          if (event.n === 3) {
            unsubscribe();
            resolve();
          }
        });
      });
      await bus.ready();
      for (const n of [1, 2, 3]) await bus.publish('t:1', { type: 'test', n });
      await done;
      unsubscribeThrowing();
      const sentinel = new Promise<void>((resolve) => bus.subscribe('t:sentinel', () => resolve()));
      await bus.ready();
      await bus.publish('t:1', { type: 'test', n: 4 });
      await bus.publish('t:sentinel', { type: 'test' });
      await sentinel;
      assert.deepEqual(seen, [1, 2, 3], 'in order, and nothing after unsubscribing');
      assert.equal(errors.length, 3);
    } finally {
      await bus.close();
    }
  });
});
