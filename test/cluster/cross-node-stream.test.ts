import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyDeltas, type PositionedDelta } from '../../web/src/client/stream-text.ts';
import { startAgentWorld, type AgentWorld } from '../agents/support.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createGate, type ScriptStep } from '../support/fake-providers.ts';
import { TestClient, type Frame } from '../realtime/client.ts';
import { waitFor } from '../support/cluster.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const skip = !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL' : false;
const jwtSecret = 'cross-node-stream-secret-cross-node-stream';

/**
 * A viewer of one streaming reply as docs/protocol.md tells clients to assemble it (what the web
 * client's store does): the message's content as loaded (sync), deltas placed by offset
 * (`applyDeltas`), and on a gap the message loaded again over HTTP every 100 ms until its saved
 * content reaches the waiting deltas.
 */
class ReplyViewer {
  content: string | undefined;
  pending: PositionedDelta[] = [];
  deltasSeen = 0;
  gaps = 0;
  #reloading = false;
  readonly #node: TestServer;
  readonly #token: string;
  readonly #message: { id: string; conversationId: string; seq: number };

  constructor(node: TestServer, token: string, message: { id: string; conversationId: string; seq: number }) {
    this.#node = node;
    this.#token = token;
    this.#message = message;
  }

  attach(client: TestClient): void {
    client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'message.delta' && frame.messageId === this.#message.id) {
        assert.equal(typeof frame.offset, 'number', 'deltas carry their offset');
        this.deltasSeen++;
        this.#place([{ offset: frame.offset, delta: frame.delta }]);
      }
    });
  }

  /** The streaming message as a sync or a reload returned it (a longer copy wins). */
  load(content: string): void {
    if (this.content === undefined || content.length > this.content.length) this.content = content;
    this.#place([]);
  }

  #place(deltas: PositionedDelta[]): void {
    if (this.content === undefined) {
      this.pending.push(...deltas);
      return;
    }
    const placed = applyDeltas(this.content, [...this.pending, ...deltas]);
    this.content = placed.content;
    this.pending = placed.pending;
    if (this.pending.length > 0 && !this.#reloading) void this.#reload();
  }

  async #reload(): Promise<void> {
    this.#reloading = true;
    this.gaps++;
    try {
      const { conversationId, seq } = this.#message;
      while (this.pending.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const page = await this.#node.request(
          'GET',
          `/api/v1/conversations/${conversationId}/messages?afterSeq=${seq - 1}&limit=1`,
          {
            token: this.#token,
          },
        );
        const message = page.body.items[0];
        if (message.status !== 'streaming') return; // ended: message.done carries the final content
        this.load(message.content);
      }
    } finally {
      this.#reloading = false;
    }
  }
}

describe('a reply streamed on one node, watched from another', { skip }, () => {
  let world: AgentWorld;
  let nodeB: TestServer;
  const clients: TestClient[] = [];

  before(async () => {
    const databaseUrl = (await postgres!.createUrl())!;
    const env = { REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: jwtSecret };
    world = await startAgentWorld({
      databaseUrl,
      env: { ...env, CHORUS_PARTIAL_SAVE_INTERVAL_MS: '150', CHORUS_DELTA_COALESCE_MS: '10' },
    });
    nodeB = await startTestServer({ databaseUrl, env });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await nodeB?.close();
    await world?.close();
  });

  it('a viewer joining or reconnecting on the other node mid-generation sees the text so far, then the live deltas, without gaps or repeats', async () => {
    const agent = await world.createAgent({ handle: 'narrator', name: 'Narrator', systemPrompt: 'Tell stories.' });
    const conversationId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    const bob = await world.server.join(world.alice, 'bob');
    await world.server.request('POST', `/api/v1/conversations/${conversationId}/members`, {
      token: world.alice.accessToken,
      body: { type: 'user', id: bob.user.id },
    });
    const halfway = createGate();
    const nearTheEnd = createGate();
    const chunk = (index: number) => `w${index}é `;
    const steps: ScriptStep[] = [];
    for (let index = 0; index < 120; index++) {
      if (index === 40) steps.push({ gate: halfway.promise });
      if (index === 119) steps.push({ gate: nearTheEnd.promise });
      steps.push({ text: chunk(index) }, { delayMs: 5 });
    }
    world.provider.setFallback(() => ({ steps }));
    const expected = Array.from({ length: 120 }, (_, index) => chunk(index)).join('');

    // Bob's first device follows on A from the start; it will drop and resume on B.
    const bobOnA = await TestClient.connect(world.server, bob.accessToken);
    clients.push(bobOnA);
    const log = world.watch(conversationId);
    await world.send(conversationId, '@narrator tell me a story');
    const started = (await bobOnA.take((frame) => frame.type === 'message' && frame.message.sender.type === 'agent', 20_000))
      .message;
    const reconnecting = new ReplyViewer(nodeB, bob.accessToken, started);
    reconnecting.load(started.content);
    reconnecting.attach(bobOnA);
    await log.waitFor((event) => event.type === 'message.delta' && (event.offset as number) > 0);
    bobOnA.ws.terminate();

    // The reply goes on while bob is away (to the first gate); then his device resumes on B and a
    // new viewer joins there, each loading the reply as saved so far.
    await log.waitFor((event) => event.type === 'message.delta' && (event.delta as string).includes('w39é'));
    const resumed = await TestClient.connect(nodeB, bob.accessToken);
    const joining = await TestClient.connect(nodeB, world.alice.accessToken);
    clients.push(resumed, joining);
    const joiner = new ReplyViewer(nodeB, world.alice.accessToken, started);
    reconnecting.attach(resumed);
    joiner.attach(joining);
    for (const [client, viewer] of [
      [resumed, reconnecting],
      [joining, joiner],
    ] as const) {
      const sync = await client.request({ type: 'sync', conversationId, afterSeq: started.seq - 1, limit: 10 });
      assert.equal(sync.type, 'ack');
      const replayed = client.frames.find((frame) => frame.type === 'message' && frame.message.id === started.id);
      assert.equal(replayed?.message.status, 'streaming');
      viewer.load(replayed!.message.content);
    }
    halfway.open();
    // Before the last chunk: the viewers' gaps (if their snapshot was older than the deltas) are filled.
    await log.waitFor((event) => event.type === 'message.delta' && (event.delta as string).includes('w118é'));
    await waitFor(
      'the viewers to hold every delta',
      async () => reconnecting.pending.length === 0 && joiner.pending.length === 0,
    );
    nearTheEnd.open();
    const done = (await joining.take((frame) => frame.type === 'message.done' && frame.message.id === started.id, 30_000))
      .message;
    await resumed.take((frame) => frame.type === 'message.done' && frame.message.id === started.id, 30_000);
    assert.equal(done.content, expected);
    for (const viewer of [reconnecting, joiner]) {
      assert.ok(viewer.deltasSeen > 0);
      assert.equal(viewer.content, expected, 'assembled from the snapshot and the deltas: no gap, no repeat');
    }

    // On the bus the offsets are contiguous: each delta starts where the previous one ended.
    let position = 0;
    for (const delta of log.of('message.delta').filter((event) => event.messageId === started.id)) {
      assert.equal(delta.offset, position);
      position += delta.delta.length;
    }
    assert.equal(position, expected.length);
  });
});
