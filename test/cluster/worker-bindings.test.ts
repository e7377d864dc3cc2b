import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startNode, startRedis, waitFor, type NodeProcess, type RedisProcess } from '../support/cluster.ts';
import { createGate, startFakeOpenAI, toolCallReply, type FakeProvider } from '../support/fake-providers.ts';
import { startHttpMcpServer, type HttpMcpTestServer } from '../support/mcp-server.ts';
import { Redis } from 'ioredis';
import { TestClient } from '../realtime/client.ts';
import { queuePrefixFor } from '../support/server.ts';
import { clusterEnv, runOf, runsExecuted, setUp, skip, story } from './cluster-world.ts';

type World = Awaited<ReturnType<typeof setUp>>;

/** A group of alice and bob only (bindings act there; no agent is a member). */
async function groupOfTwo(node: NodeProcess, world: World, title: string): Promise<string> {
  const created = await call(node.url, 'POST', '/api/v1/conversations', {
    token: world.alice.accessToken,
    body: { kind: 'group', title, members: [{ type: 'user', id: world.bob.user.id }] },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

async function bind(node: NodeProcess, token: string, conversationId: string, body: Record<string, unknown>): Promise<void> {
  const response = await call(node.url, 'POST', `/api/v1/conversations/${conversationId}/bindings`, { token, body });
  assert.equal(response.status, 201, JSON.stringify(response.body));
}

async function post(node: NodeProcess, token: string, conversationId: string, content: string): Promise<{ id: string }> {
  const response = await call(node.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, { token, body: { content } });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** Runs a node executed to the end (`complete`), from its metric. */
const completed = async (node: NodeProcess) => (await runsExecuted(node)).complete ?? 0;

describe('binding runs and paused runs as jobs: two api nodes and a worker, as child processes', { skip }, () => {
  let provider: FakeProvider;
  let mcp: HttpMcpTestServer;
  let env: Record<string, string>;
  let apiA: NodeProcess;
  let apiB: NodeProcess;
  let worker: NodeProcess;
  const spares: NodeProcess[] = [];
  let world: World;
  const clients: TestClient[] = [];

  before(async () => {
    provider = await startFakeOpenAI();
    mcp = await startHttpMcpServer();
    env = { ...(await clusterEnv(provider)), CHORUS_OUTBOUND_ALLOW_HOSTS: new URL(mcp.url).host };
    [apiA, apiB, worker] = await Promise.all([startNode('api', env), startNode('api', env), startNode('worker', env)]);
    world = await setUp(apiA, 'bindjobs');
    const added = await call(apiA.url, 'POST', '/api/v1/mcp-servers', {
      token: world.alice.accessToken,
      body: { name: 'web', url: mcp.url },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await Promise.all([apiA?.stop(), apiB?.stop(), worker?.stop(), ...spares.map((node) => node.stop())]);
    await provider?.close();
    await mcp?.close();
  });

  it("a binding's advice and an autoreply execute on the worker; the advice reaches its owner only", async () => {
    const { alice, bob, agentId } = world;
    const conversationId = await groupOfTwo(apiA, world, 'bound');
    await bind(apiA, alice.accessToken, conversationId, { agentId, mode: 'advice', instructions: 'Be brief.' });
    await bind(apiB, bob.accessToken, conversationId, { agentId, mode: 'autoreply' });
    const aliceOnB = await TestClient.connect(apiB, alice.accessToken);
    const bobOnA = await TestClient.connect(apiA, bob.accessToken);
    clients.push(aliceOnB, bobOnA);
    const before = await completed(worker);
    const requestsBefore = provider.requests.length;

    // Bob's message: alice's adviser suggests privately.
    provider.enqueue({ steps: [{ text: 'Say ' }, { text: 'yes.' }] });
    await post(apiA, bob.accessToken, conversationId, 'Lunch at noon?');
    const done = (await aliceOnB.take((frame) => frame.type === 'advice.done', 20_000)).advice;
    assert.deepEqual([done.status, done.content, done.userId], ['ready', 'Say yes.', alice.user.id]);
    const adviceRequest = await provider.request(requestsBefore);
    assert.match(adviceRequest.body.messages[0].content, /private suggestion that only/, 'the perspective reached the worker');
    assert.match(adviceRequest.body.messages[0].content, /Be brief\./);
    assert.equal(adviceRequest.body.messages.at(-1).content, '(Suggest the next message for @alice.)');
    const byOwner = await call(apiA.url, 'GET', `/api/v1/runs/${done.runId}`, { token: alice.accessToken });
    assert.deepEqual([byOwner.status, byOwner.body.status], [200, 'completed']);
    const byBob = await call(apiB.url, 'GET', `/api/v1/runs/${done.runId}`, { token: bob.accessToken });
    assert.equal(byBob.status, 404, 'advice runs are private');

    // Alice's message: bob's autoreplier answers in the conversation for him.
    provider.enqueue({ steps: [{ text: 'Bob is away, back at one.' }] });
    await post(apiB, alice.accessToken, conversationId, 'Are you there, Bob?');
    const reply = (await aliceOnB.take((frame) => frame.type === 'message.done' && frame.message.sender.type === 'agent', 20_000))
      .message;
    assert.deepEqual([reply.status, reply.content, reply.onBehalfOf], ['complete', 'Bob is away, back at one.', bob.user.id]);

    await waitFor('the worker to count both runs', async () => (await completed(worker)) === before + 2);
    assert.deepEqual(await runsExecuted(apiA), {}, 'api nodes execute no run');
    assert.deepEqual(await runsExecuted(apiB), {});
    await bobOnA.request({ type: 'ping' });
    assert.ok(!bobOnA.frames.some((frame) => frame.type.startsWith('advice')), 'bob never saw the advice');
  });

  it('a run paused for approval is answered on the other api node and resumes on the worker', async () => {
    const { alice } = world;
    const guard = await call(apiA.url, 'POST', '/api/v1/agents', {
      token: alice.accessToken,
      body: { handle: 'guard', tools: ['mcp:web/counter_increment'], toolApprovals: ['mcp:web/counter_increment'] },
    });
    assert.equal(guard.status, 201, JSON.stringify(guard.body));
    const room = await call(apiA.url, 'POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'guarded', members: [{ type: 'agent', id: guard.body.id }] },
    });
    const aliceOnA = await TestClient.connect(apiA, alice.accessToken);
    clients.push(aliceOnA);
    const before = await completed(worker);
    const counter = mcp.state.counter;

    provider.enqueue(toolCallReply({ name: 'web__counter_increment', args: { by: 3 } }));
    await post(apiA, alice.accessToken, room.body.id, '@guard add 3');
    const asked = await aliceOnA.take((frame) => frame.type === 'human.request', 20_000);
    const paused = await aliceOnA.take((frame) => frame.type === 'message.done' && frame.message.sender.type === 'agent', 20_000);
    assert.equal(paused.message.parts[0].state, 'awaiting-approval');
    assert.equal(mcp.state.counter, counter, 'nothing ran before the approval');
    const waiting = await call(apiB.url, 'GET', `/api/v1/runs/${asked.runId}`, { token: alice.accessToken });
    assert.equal(waiting.body.status, 'waiting');

    provider.enqueue({ steps: [{ text: 'Added 3.' }] });
    const approved = await call(apiB.url, 'POST', `/api/v1/runs/${asked.runId}/approvals/${asked.request.requestId}`, {
      token: alice.accessToken,
      body: { decision: 'approve', argsHash: asked.request.argsHash },
    });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const resumed = await aliceOnA.take(
      (frame) => frame.type === 'message.done' && frame.message.runId === asked.runId && frame.message.content === 'Added 3.',
      20_000,
    );
    assert.equal(resumed.message.status, 'complete');
    assert.equal(mcp.state.counter, counter + 3, 'the approved call ran once');
    await waitFor('the run completed', async () => {
      const run = await call(apiA.url, 'GET', `/api/v1/runs/${asked.runId}`, { token: alice.accessToken });
      return run.body.status === 'completed';
    });
    // The pause ended its first part `complete` and the resumed part completed: both on the worker.
    await waitFor('the worker to count the paused and the resumed part', async () => (await completed(worker)) === before + 2);
    assert.deepEqual(await runsExecuted(apiA), {});
    assert.deepEqual(await runsExecuted(apiB), {});
  });

  it('kill -9 of the worker mid-advice: another worker restarts it into the same advice, which ends once', async () => {
    const { alice, bob, agentId } = world;
    const conversationId = await groupOfTwo(apiA, world, 'advice restart');
    await bind(apiA, alice.accessToken, conversationId, { agentId, mode: 'advice' });
    const aliceOnB = await TestClient.connect(apiB, alice.accessToken);
    clients.push(aliceOnB);
    const held = createGate();
    const first = story('p', 20, { at: 10, promise: held.promise });
    const second = story('q', 12);
    const requestsBefore = provider.requests.length;
    provider.enqueue({ steps: first.steps }, { steps: second.steps });

    await post(apiA, bob.accessToken, conversationId, 'What do you think?');
    const firstRequest = await provider.request(requestsBefore);
    const opened = (await aliceOnB.take((frame) => frame.type === 'advice', 20_000)).advice;
    await waitFor('the first half streamed', async () =>
      aliceOnB.frames.some((frame) => frame.type === 'advice.delta' && String(frame.delta).includes('p9é')),
    );
    // A second worker joins while the first holds the run (so the run cannot have gone to it), then the first dies.
    const spare = await startNode('worker', env);
    spares.push(spare);
    await worker.kill();
    await firstRequest.aborted;
    await provider.request(requestsBefore + 1);

    const reset = await aliceOnB.take((frame) => frame.type === 'advice' && frame.advice.id === opened.id, 30_000);
    assert.equal(reset.advice.content, '', 'the advice restarts empty');
    assert.ok(reset.advice.updatedAt > opened.updatedAt, 'with a newer updatedAt, so clients drop the old text');
    const done = await aliceOnB.take((frame) => frame.type === 'advice.done', 30_000);
    assert.equal(done.advice.id, opened.id, 'one advice for the run');
    assert.deepEqual([done.advice.status, done.advice.content], ['ready', second.text]);
    const pending = await call(apiA.url, 'GET', `/api/v1/conversations/${conversationId}/advice`, { token: alice.accessToken });
    assert.deepEqual(
      pending.body.items.map((item: { id: string; content: string }) => [item.id, item.content]),
      [[opened.id, second.text]],
    );
    assert.equal((await runsExecuted(spare)).complete, 1, 'the spare worker finished it');
    worker = spare;
  });

  it('kill -9 of the worker after a tool ran: the reply ends interrupted with a readable error, the tool ran once', async () => {
    const { alice } = world;
    const tooler = await call(apiA.url, 'POST', '/api/v1/agents', {
      token: alice.accessToken,
      body: { handle: 'tooler', tools: ['mcp:web/counter_increment'] },
    });
    assert.equal(tooler.status, 201, JSON.stringify(tooler.body));
    const room = await call(apiA.url, 'POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'tools', members: [{ type: 'agent', id: tooler.body.id }] },
    });
    const viewer = await TestClient.connect(apiB, alice.accessToken);
    clients.push(viewer);
    const counter = mcp.state.counter;
    const requestsBefore = provider.requests.length;
    provider.enqueue(toolCallReply({ name: 'web__counter_increment', args: { by: 5 } }), {
      steps: [{ text: 'Counted ' }, { stall: true }],
    });

    await post(apiA, alice.accessToken, room.body.id, '@tooler add 5');
    const secondRound = await provider.request(requestsBefore + 1);
    assert.equal(mcp.state.counter, counter + 5);
    const reply = (await viewer.take((frame) => frame.type === 'message' && frame.message.sender.type === 'agent', 20_000))
      .message as { seq: number };
    await waitFor('the text after the tool saved', async () => {
      const page = await call(
        apiB.url,
        'GET',
        `/api/v1/conversations/${room.body.id}/messages?afterSeq=${reply.seq - 1}&limit=1`,
        {
          token: alice.accessToken,
        },
      );
      return page.body.items[0].content === 'Counted ';
    });
    const spare = await startNode('worker', env);
    spares.push(spare);
    await worker.kill();
    await secondRound.aborted;

    const done = (await viewer.take((frame) => frame.type === 'message.done' && frame.message.sender.type === 'agent', 30_000))
      .message;
    assert.equal(done.status, 'interrupted', `${done.error}\n${spare.output.slice(-30).join('\n')}`);
    assert.match(done.error, /stopped after a tool had run, so it was not restarted/);
    assert.equal(done.content, 'Counted ', 'the text so far is kept');
    const run = await call(apiA.url, 'GET', `/api/v1/runs/${done.runId}`, { token: alice.accessToken });
    assert.deepEqual([run.body.status, run.body.messageId], ['interrupted', done.id]);
    assert.equal(mcp.state.counter, counter + 5, 'the tool ran once');
    assert.equal(provider.requests.length, requestsBefore + 2, 'the model was not asked again');
    worker = spare;
  });

  it('kill -9 of the worker after an advice run called a tool: the advice ends interrupted, the tool ran once', async () => {
    const { alice, bob } = world;
    const adviser = await call(apiA.url, 'POST', '/api/v1/agents', {
      token: alice.accessToken,
      body: { handle: 'counsel', tools: ['mcp:web/counter_increment'] },
    });
    assert.equal(adviser.status, 201, JSON.stringify(adviser.body));
    const conversationId = await groupOfTwo(apiA, world, 'advice with a tool');
    await bind(apiA, alice.accessToken, conversationId, { agentId: adviser.body.id, mode: 'advice' });
    const aliceOnB = await TestClient.connect(apiB, alice.accessToken);
    clients.push(aliceOnB);
    const counter = mcp.state.counter;
    const requestsBefore = provider.requests.length;
    provider.enqueue(toolCallReply({ name: 'web__counter_increment', args: { by: 7 } }), {
      steps: [{ text: 'Maybe ' }, { stall: true }],
    });

    await post(apiA, bob.accessToken, conversationId, 'How many?');
    const secondRound = await provider.request(requestsBefore + 1);
    assert.equal(mcp.state.counter, counter + 7);
    const opened = (await aliceOnB.take((frame) => frame.type === 'advice', 20_000)).advice;
    await waitFor('the advice text after the tool saved', async () => {
      const pending = await call(apiA.url, 'GET', `/api/v1/conversations/${conversationId}/advice`, { token: alice.accessToken });
      return pending.body.items[0]?.content === 'Maybe ';
    });
    const spare = await startNode('worker', env);
    spares.push(spare);
    await worker.kill();
    await secondRound.aborted;

    const done = (await aliceOnB.take((frame) => frame.type === 'advice.done' && frame.advice.id === opened.id, 30_000)).advice;
    assert.equal(done.status, 'interrupted');
    assert.match(done.error, /stopped after a tool had run, so it was not restarted/);
    assert.equal(done.content, 'Maybe ', 'the text so far is kept');
    const run = await call(apiA.url, 'GET', `/api/v1/runs/${opened.runId}`, { token: alice.accessToken });
    assert.equal(run.body.status, 'interrupted');
    assert.equal(mcp.state.counter, counter + 7, 'the tool ran once');
    assert.equal(provider.requests.length, requestsBefore + 2, 'the model was not asked again');
    worker = spare;
  });
});

describe('a Redis restart under a cluster loses no queued run', { skip }, () => {
  let provider: FakeProvider;
  let redis: RedisProcess;
  let env: Record<string, string>;
  let api: NodeProcess;
  let worker: NodeProcess;

  before(async () => {
    provider = await startFakeOpenAI();
    redis = await startRedis();
    env = { ...(await clusterEnv(provider)), REDIS_URL: redis.url, CHORUS_RUN_REQUEUE_AFTER_MS: '2000' };
    [api, worker] = await Promise.all([startNode('api', env), startNode('worker', env)]);
  });
  after(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await redis?.kill();
    await provider?.close();
  });

  it('a run queued when Redis restarted empty is submitted again by the worker and executes once', async () => {
    const { alice, conversationId, agentId } = await setUp(api, 'requeue');
    const held = createGate();
    provider.enqueue({ steps: [{ text: 'first ' }, { gate: held.promise }, { text: 'done' }] }, { steps: [{ text: 'second' }] });
    await post(api, alice.accessToken, conversationId, '@narrator one');
    await provider.request(0);
    const queued = await post(api, alice.accessToken, conversationId, '@narrator two');
    const runId = await waitFor('the queued run', () => runOf(env.DATABASE_URL!, queued.id));
    const client = new Redis(redis.url);
    const mailbox = `${queuePrefixFor(env.DATABASE_URL!)}:mailbox:${conversationId}:${agentId}`;
    try {
      await waitFor('the run in its mailbox', async () =>
        (await client.zrange(mailbox, '0', '-1')).some((member) => member.includes(runId)),
      );
    } finally {
      client.disconnect();
    }

    // Its mailbox entry and job are lost with Redis; its row stays `queued`.
    await redis.kill();
    await redis.start();
    held.open();
    const runStatus = async (id: string) =>
      (await call(api.url, 'GET', `/api/v1/runs/${id}`, { token: alice.accessToken })).body as { status: string };
    await waitFor('the re-queued run to complete', async () => (await runStatus(runId)).status === 'completed', 45_000);

    // One more run through the same mailbox: by its end every sweep since had its chance to run it again.
    provider.enqueue({ steps: [{ text: 'third' }] });
    const third = await post(api, alice.accessToken, conversationId, '@narrator three');
    const thirdRun = await waitFor('the third run', () => runOf(env.DATABASE_URL!, third.id));
    await waitFor('the third run to complete', async () => (await runStatus(thirdRun)).status === 'completed', 30_000);
    const page = await call(api.url, 'GET', `/api/v1/conversations/${conversationId}/messages?limit=50`, {
      token: alice.accessToken,
    });
    const replies = page.body.items.filter((message: { sender: { type: string } }) => message.sender.type === 'agent');
    assert.deepEqual(
      replies.map((message: { content: string; status: string }) => [message.content, message.status]),
      [
        ['first done', 'complete'],
        ['second', 'complete'],
        ['third', 'complete'],
      ],
      'each run replied once, in order',
    );
    assert.equal(provider.requests.length, 3, 'each run called the model once');
    assert.equal((await runsExecuted(worker)).complete, 3);
  });
});
