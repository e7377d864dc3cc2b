import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, startNode, waitFor, type NodeProcess } from '../support/cluster.ts';
import { createGate, startFakeOpenAI, type FakeProvider } from '../support/fake-providers.ts';
import { TestClient, type Frame } from '../realtime/client.ts';
import { ResumingReader, sendBurst } from './resuming-client.ts';
import { assembled, clusterEnv, runOf, runsExecuted, setUp, skip, story } from './cluster-world.ts';

describe('agent runs as jobs: two api nodes and a worker, as child processes', { skip }, () => {
  let provider: FakeProvider;
  let env: Record<string, string>;
  let apiA: NodeProcess;
  let apiB: NodeProcess;
  let worker: NodeProcess;
  let spare: NodeProcess | undefined;
  let world: Awaited<ReturnType<typeof setUp>>;
  const clients: TestClient[] = [];

  before(async () => {
    provider = await startFakeOpenAI();
    env = await clusterEnv(provider);
    [apiA, apiB, worker] = await Promise.all([startNode('api', env), startNode('api', env), startNode('worker', env)]);
    world = await setUp(apiA, 'runjobs');
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await Promise.all([apiA?.stop(), apiB?.stop(), worker?.stop(), spare?.stop()]);
    await provider?.close();
  });

  it('a run executes on the worker, streams to clients on both api nodes, and resumes on the other node', async () => {
    const { alice, bob, conversationId } = world;
    const halfway = createGate();
    const { steps, text: expected } = story('w', 80, { at: 40, promise: halfway.promise });
    provider.enqueue({ steps });
    const aliceOnA = await TestClient.connect(apiA, alice.accessToken);
    const bobOnA = await TestClient.connect(apiA, bob.accessToken);
    const aliceOnB = await TestClient.connect(apiB, alice.accessToken);
    clients.push(aliceOnA, bobOnA, aliceOnB);
    const sent = await aliceOnA.request({
      type: 'send',
      conversationId,
      clientMsgId: 'story-1',
      content: '@narrator tell me a story',
    });
    assert.equal(sent.type, 'ack');
    const reply = (await aliceOnB.take((frame) => frame.type === 'message' && frame.message.sender.type === 'agent', 20_000))
      .message as { id: string; seq: number; runId: string };

    // Held at the gate: bob's device drops on A and resumes on B, from the reply as saved so far.
    await waitFor('the first half streamed', async () =>
      aliceOnA.frames.some((frame: Frame) => frame.type === 'message.delta' && String(frame.delta).includes('w39é')),
    );
    bobOnA.ws.terminate();
    const firstHalf = story('w', 40).text;
    await waitFor('the first half saved', async () => {
      const page = await call(
        apiB.url,
        'GET',
        `/api/v1/conversations/${conversationId}/messages?afterSeq=${reply.seq - 1}&limit=1`,
        {
          token: bob.accessToken,
        },
      );
      return page.body.items[0].content === firstHalf;
    });
    const bobOnB = await TestClient.connect(apiB, bob.accessToken);
    clients.push(bobOnB);
    const sync = await bobOnB.request({ type: 'sync', conversationId, afterSeq: reply.seq - 1, limit: 10 });
    assert.equal(sync.type, 'ack');
    const replayed = bobOnB.frames.find((frame) => frame.type === 'message' && frame.message.id === reply.id)!.message;
    assert.equal(replayed.status, 'streaming');
    halfway.open();

    const doneOnA = (await aliceOnA.take((frame) => frame.type === 'message.done' && frame.message.id === reply.id, 30_000))
      .message;
    const doneOnB = (await aliceOnB.take((frame) => frame.type === 'message.done' && frame.message.id === reply.id, 30_000))
      .message;
    await bobOnB.take((frame) => frame.type === 'message.done' && frame.message.id === reply.id, 30_000);
    assert.equal(doneOnA.content, expected);
    assert.equal(doneOnB.content, expected);
    assert.equal(assembled(aliceOnA, reply.id), expected, 'deltas on api A');
    assert.equal(assembled(aliceOnB, reply.id), expected, 'deltas on api B');
    assert.equal(assembled(bobOnB, reply.id, replayed.content), expected, 'resumed on B: saved text, then the live deltas');

    await waitFor('the worker to count the run', async () => (await runsExecuted(worker)).complete === 1);
    assert.deepEqual(await runsExecuted(apiA), {}, 'api nodes execute no run');
    assert.deepEqual(await runsExecuted(apiB), {});
  });

  it('cancel on an api node aborts the upstream request on the worker within 1 s; a queued run cancels too', async () => {
    const { alice, conversationId } = world;
    const requestsBefore = provider.requests.length;
    provider.enqueue({ steps: [{ text: 'partial ' }, { stall: true }] }, { steps: [{ text: 'never' }] });
    const watcher = await TestClient.connect(apiB, alice.accessToken);
    clients.push(watcher);
    await call(apiA.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: '@narrator first' },
    });
    const upstream = await provider.request(requestsBefore);
    const running = (await watcher.take((frame) => frame.type === 'message' && frame.message.sender.type === 'agent', 20_000))
      .message as { id: string; runId: string };
    // A second reply queues behind the stalled one in the same mailbox.
    await call(apiB.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: '@narrator second' },
    });
    await waitFor('partial text', async () =>
      watcher.frames.some((frame) => frame.type === 'message.delta' && frame.messageId === running.id),
    );

    const started = performance.now();
    const cancelled = call(apiB.url, 'POST', `/api/v1/runs/${running.runId}/cancel`, { token: alice.accessToken });
    await upstream.aborted;
    const abortMs = performance.now() - started;
    assert.ok(abortMs < 1_000, `upstream aborted after ${Math.round(abortMs)} ms`);
    const response = await cancelled;
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'cancelled');
    const done = (await watcher.take((frame) => frame.type === 'message.done' && frame.message.id === running.id, 10_000))
      .message;
    assert.deepEqual([done.status, done.content], ['cancelled', 'partial ']);

    // The second reply, queued behind it, starts once the mailbox is free and completes.
    const second = (await watcher.take((frame) => frame.type === 'message.done' && frame.message.id !== running.id, 20_000))
      .message;
    assert.deepEqual([second.status, second.content], ['complete', 'never']);
  });

  it('cancelling a queued run on an api node: it never starts, and its reply is recorded cancelled', async () => {
    const { alice, conversationId } = world;
    const hold = createGate();
    const requestsBefore = provider.requests.length;
    provider.enqueue({ steps: [{ gate: hold.promise }, { text: 'first done' }] });
    const watcher = await TestClient.connect(apiA, alice.accessToken);
    clients.push(watcher);
    await call(apiA.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: '@narrator hold on' },
    });
    await provider.request(requestsBefore);
    const queuedTrigger = await call(apiB.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: '@narrator queued one' },
    });
    const runId = await waitFor('the queued run', () => runOf(env.DATABASE_URL!, queuedTrigger.body.id));
    const cancelled = await call(apiB.url, 'POST', `/api/v1/runs/${runId}/cancel`, { token: alice.accessToken });
    assert.deepEqual([cancelled.status, cancelled.body.status], [200, 'cancelled']);
    hold.open();
    const done: Array<{ status: string; runId: string }> = [];
    while (done.length < 2) done.push((await watcher.take((frame) => frame.type === 'message.done', 20_000)).message);
    assert.deepEqual(
      done.map((message) => message.status),
      ['complete', 'cancelled'],
    );
    assert.equal(done[1]!.runId, runId);
    assert.equal(provider.requests.length, requestsBefore + 1, 'the cancelled run never called the model');
  });

  it('kill -9 of the worker mid-run: another worker restarts the run within 20 s, and the reply ends once without repeated text', async () => {
    const { alice, conversationId } = world;
    const held = createGate();
    const first = story('x', 30, { at: 20, promise: held.promise });
    const second = story('y', 25);
    const requestsBefore = provider.requests.length;
    provider.enqueue({ steps: first.steps }, { steps: second.steps });
    const viewer = await TestClient.connect(apiA, alice.accessToken);
    clients.push(viewer);
    await call(apiB.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: '@narrator once more' },
    });
    const firstRequest = await provider.request(requestsBefore);
    const reply = (await viewer.take((frame) => frame.type === 'message' && frame.message.sender.type === 'agent', 20_000))
      .message as { id: string; runId: string; seq: number };
    await waitFor('text before the kill', async () =>
      viewer.frames.some((frame) => frame.type === 'message.delta' && String(frame.delta).includes('x19é')),
    );
    // A second worker joins while the first holds the run, then the first dies during a burst of
    // 2,000 messages from alice on api B, which bob reads on api A.
    spare = await startNode('worker', env);
    const burst = await call(apiA.url, 'POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'burst', members: [{ type: 'user', id: world.bob.user.id }] },
    });
    const burstIds = Array.from({ length: 2_000 }, (_, index) => `b${String(index).padStart(4, '0')}`);
    const acked = new Map<string, number>();
    const bobReader = new ResumingReader(world.bob.accessToken, burst.body.id);
    await bobReader.connect(apiA.url);
    clients.push(bobReader.client!);
    let killing: Promise<void> | undefined;
    let killedAt = 0;
    const sending = sendBurst({
      url: apiB.url,
      token: alice.accessToken,
      conversationId: burst.body.id,
      clientMsgIds: burstIds,
      acked,
      onAck: () => {
        if (acked.size < 500 || killing) return;
        killedAt = performance.now();
        killing = worker.kill();
      },
    });
    await sending;
    await killing;
    assert.ok(killing, 'the worker died mid-burst');
    await firstRequest.aborted;
    await provider.request(requestsBefore + 1);
    const retryMs = performance.now() - killedAt;
    assert.ok(retryMs < 20_000, `retried after ${Math.round(retryMs)} ms`);

    const done = (await viewer.take((frame) => frame.type === 'message.done' && frame.message.id === reply.id, 30_000)).message;
    assert.equal(done.status, 'complete');
    assert.equal(done.content, second.text, 'the restarted generation only: no text of the first attempt');
    assert.equal(assembled(viewer, reply.id), second.text, 'a viewer resets at message.updated and ends with the same text');
    assert.equal(viewer.frames.filter((frame) => frame.type === 'message.done' && frame.message.id === reply.id).length, 1);
    const page = await call(
      apiA.url,
      'GET',
      `/api/v1/conversations/${conversationId}/messages?afterSeq=${reply.seq - 1}&limit=50`,
      {
        token: alice.accessToken,
      },
    );
    const replies = page.body.items.filter((message: { runId?: string }) => message.runId === reply.runId);
    assert.equal(replies.length, 1, 'one message for the run');
    const run = await call(apiA.url, 'GET', `/api/v1/runs/${reply.runId}`, { token: alice.accessToken });
    assert.deepEqual([run.body.status, run.body.messageId], ['completed', reply.id]);
    assert.equal((await runsExecuted(spare)).complete, 1, 'the spare worker finished it');

    assert.equal(acked.size, burstIds.length, 'every message of the burst acked');
    await bobReader.until(burstIds.length, 60_000);
    assert.deepEqual(
      bobReader.applied.map((message) => message.seq),
      Array.from({ length: burstIds.length }, (_, index) => index + 1),
      'bob saw every seq once, in order: 0 lost, 0 duplicated',
    );
    assert.equal(new Set(bobReader.applied.map((message) => message.clientMsgId)).size, burstIds.length);
  });
});

describe('agent runs as jobs: three `all` nodes', { skip }, () => {
  let provider: FakeProvider;
  let nodes: NodeProcess[] = [];
  const clients: TestClient[] = [];

  before(async () => {
    provider = await startFakeOpenAI();
    const env = await clusterEnv(provider);
    nodes = await Promise.all([startNode('all', env), startNode('all', env), startNode('all', env)]);
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await Promise.all(nodes.map((node) => node.stop()));
    await provider?.close();
  });

  it('replies once, in order, watched from every node', async () => {
    const { alice, conversationId } = await setUp(nodes[0]!, 'runjobs-all');
    const watchers = await Promise.all(nodes.map((node) => TestClient.connect(node, alice.accessToken)));
    clients.push(...watchers);
    const replies = Array.from({ length: 6 }, (_, index) => story(`r${index}-`, 5).text);
    provider.setFallback((request) => {
      const prompt = JSON.stringify(request.body.messages.at(-1));
      const index = Number(/question (\d)/.exec(prompt)?.[1]);
      return { steps: [{ text: replies[index]! }] };
    });
    for (let index = 0; index < replies.length; index++) {
      await call(nodes[index % 3]!.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { content: `@narrator question ${index}` },
      });
    }
    for (const watcher of watchers) {
      const done: string[] = [];
      while (done.length < replies.length)
        done.push((await watcher.take((frame) => frame.type === 'message.done', 30_000)).message.content);
      assert.deepEqual(done, replies, 'every reply once, in the order asked');
    }
    const executed = await Promise.all(nodes.map(runsExecuted));
    assert.equal(
      executed.reduce((sum, counts) => sum + (counts.complete ?? 0), 0),
      replies.length,
      'each run executed once across the nodes',
    );
  });
});
