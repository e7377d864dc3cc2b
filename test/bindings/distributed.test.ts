import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { runs } from '../../src/db/schema.ts';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const skip = !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL (scripts/test-services.sh start)' : false;

/** Resolves once `read()` is true; fails after `timeoutMs` (cross-node events arrive through Redis). */
async function until(what: string, read: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('bindings across two nodes over Redis', { skip }, () => {
  let provider: FakeProvider;
  let nodeA: TestServer;
  let nodeB: TestServer;
  let alice: Session;
  let bob: Session;
  let agentId: string;
  let conversationId: string;
  const clients: TestClient[] = [];

  const bobSaysOnB = async (content: string) => {
    const response = await nodeB.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: bob.accessToken,
      body: { content },
    });
    assert.equal(response.status, 201);
    await nodeB.context.bindings!.trigger.whenIdle();
  };
  /**
   * A binding change made on node A, resolved once node B has heard of it (its cache subscribed to
   * the change topic at start-up, so it dropped the stale entry before this later subscriber runs).
   */
  const changeOnA = async (method: 'POST' | 'PATCH', path: string, body: Record<string, unknown>) => {
    const heard = Promise.withResolvers<void>();
    const stop = nodeB.context.bus.subscribe('bindings:changes', (event) => {
      if (event.conversationId === conversationId) heard.resolve();
    });
    try {
      const response = await nodeA.request(method, `/api/v1/conversations/${conversationId}/bindings${path}`, {
        token: alice.accessToken,
        body,
      });
      assert.ok(response.status === 200 || response.status === 201, JSON.stringify(response.body));
      await heard.promise;
      return response.body;
    } finally {
      stop();
    }
  };
  const runCount = async () => (await nodeA.context.db.select().from(runs).where(eq(runs.conversationId, conversationId))).length;

  before(async () => {
    provider = await new FakeProvider('openai').listen();
    const databaseUrl = await postgres!.createUrl();
    const env = {
      REDIS_URL: redisUrl!,
      CHORUS_JWT_SECRET: 'bindings-distributed-secret-bindings-distributed',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: provider.url,
      CHORUS_DEFAULT_MODEL: 'openai/fake-model',
    };
    nodeA = await startTestServer({ databaseUrl, env });
    nodeB = await startTestServer({ databaseUrl, env });
    alice = await nodeA.register(`bind-${Math.random().toString(36).slice(2, 8)}`, 'alice');
    const invite = await nodeA.request('POST', '/api/v1/invites', { token: alice.accessToken, body: {} });
    bob = await nodeB.register(alice.workspace.slug, 'bob', invite.body.code);
    agentId = (await nodeA.request('POST', '/api/v1/agents', { token: alice.accessToken, body: { handle: 'helper' } })).body.id;
    const created = await nodeA.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'direct', members: [{ type: 'user', id: bob.user.id }] },
    });
    conversationId = created.body.id;
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await nodeA?.close();
    await nodeB?.close();
    await provider?.close();
  });

  it("a binding made on one node acts on the other, and its advice reaches the owner's node only", async () => {
    await bobSaysOnB('before any binding'); // node B now caches "no bindings here"
    const aliceOnA = await TestClient.connect(nodeA, alice.accessToken);
    const bobOnA = await TestClient.connect(nodeA, bob.accessToken);
    clients.push(aliceOnA, bobOnA);
    provider.enqueue({ steps: [{ text: 'private idea' }] });
    await changeOnA('POST', '', { agentId, mode: 'advice' });
    await bobSaysOnB('ping');
    assert.equal(await runCount(), 1);
    const done = await aliceOnA.take((frame) => frame.type === 'advice.done');
    assert.equal(done.advice.content, 'private idea');
    await bobOnA.request({ type: 'ping' });
    assert.ok(!bobOnA.frames.some((frame) => frame.type.startsWith('advice')));
  });

  it('onlyWhenAway sees presence on another node; typing on another node cancels a delayed reply', async () => {
    const autoreply = await changeOnA('POST', '', { agentId, mode: 'autoreply', onlyWhenAway: true });
    const before = await runCount();
    await bobSaysOnB('alice is online on node A');
    assert.equal(await runCount(), before + 1, 'only the advice binding acted');

    await changeOnA('PATCH', `/${autoreply.id}`, { onlyWhenAway: false, delaySeconds: 30 });
    const trigger = nodeB.context.bindings!.trigger;
    await bobSaysOnB('answer me later');
    assert.equal(trigger.pendingCount, 1);
    const aliceOnA = clients[0];
    await aliceOnA.request({ type: 'typing', conversationId });
    await until('typing on node A to cancel it', () => trigger.pendingCount === 0);
  });
});
