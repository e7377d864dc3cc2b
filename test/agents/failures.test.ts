import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ReplyScript } from '../support/fake-providers.ts';
import { startTestServer } from '../support/server.ts';
import { startAgentWorld, type AgentWorld } from './support.ts';

/** Timeouts no loaded machine reaches, for the tests that are not about them. */
const patient = { CHORUS_MODEL_FIRST_TOKEN_TIMEOUT_MS: '60000', CHORUS_MODEL_IDLE_TIMEOUT_MS: '60000' };

describe('provider failures', () => {
  let world: AgentWorld;
  let conversationId: string;

  before(async () => {
    world = await startAgentWorld({
      env: { CHORUS_MODEL_MAX_RETRIES: '2', ...patient },
    });
    const agent = await world.createAgent({ handle: 'flaky' });
    conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
  });
  after(() => world.close());

  async function reply(content: string) {
    const log = world.watch(conversationId);
    await world.send(conversationId, content);
    const done = await log.done();
    log.stop();
    return done;
  }

  it('retries a 500 before the first token and then succeeds', async () => {
    const before = world.provider.requests.length;
    world.provider.enqueue({ status: 500, errorMessage: 'upstream exploded' }, { steps: [{ text: 'recovered' }] });
    const done = await reply('try');
    assert.equal(done.status, 'complete');
    assert.equal(done.content, 'recovered');
    assert.equal(world.provider.requests.length - before, 2);
  });

  it('waits as long as Retry-After says on 429, showing the reply while it waits', async () => {
    const before = world.provider.requests.length;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    world.provider.enqueue(
      { status: 429, headers: { 'retry-after': '1' }, errorMessage: 'slow down' },
      { steps: [{ gate: held }, { text: 'after the wait' }] },
    );
    const startedAt = Date.now();
    const log = world.watch(conversationId);
    await world.send(conversationId, 'rate me');
    const retry = await world.provider.request(before + 1);
    const waitedMs = Date.now() - startedAt;
    // The retry is held before any text: the reply must already be on show, not opened by its text.
    const shown: any = await log.waitFor((event: any) => event.type === 'message' && event.message.sender.type === 'agent');
    assert.equal(shown.message.status, 'streaming');
    assert.equal(log.of('message.delta').length, 0);
    release();
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete');
    assert.equal(done.content, 'after the wait');
    assert.equal(world.provider.requests.length - before, 2);
    assert.ok(retry.path.endsWith('/chat/completions'));
    assert.ok(waitedMs >= 950, `retried after ${waitedMs} ms, Retry-After asked for 1000`);
  });

  it('fails with a readable error after the retries run out', async () => {
    world.provider.enqueue(
      { status: 503, errorMessage: 'overloaded' },
      { status: 503, errorMessage: 'overloaded' },
      { status: 503, errorMessage: 'overloaded' },
    );
    const done = await reply('again');
    assert.equal(done.status, 'failed');
    assert.match(done.error, /openai provider answered 503: overloaded/);
    const run = await world.server.request('GET', `/api/v1/runs/${done.runId}`, { token: world.alice.accessToken });
    assert.equal(run.body.status, 'failed');
    assert.equal(run.body.steps.find((step: any) => step.type === 'generate').output.attempts, 3);
  });

  it('does not retry a 400', async () => {
    const before = world.provider.requests.length;
    world.provider.enqueue({ status: 400, errorMessage: 'bad model' });
    const done = await reply('bad');
    assert.equal(done.status, 'failed');
    assert.match(done.error, /400: bad model/);
    assert.equal(world.provider.requests.length - before, 1);
  });

  it('fails on a malformed stream event, keeping the text before it', async () => {
    world.provider.enqueue({ steps: [{ text: 'good ' }, { raw: 'data: {"choices": [ {not json\n\n' }, { text: 'never shown' }] });
    const done = await reply('garble');
    assert.equal(done.status, 'failed');
    assert.equal(done.content, 'good ');
    assert.match(done.error, /malformed stream event/);
  });

  it('fails when the provider closes the stream without finishing', async () => {
    world.provider.enqueue({ steps: [{ text: 'cut' }], finish: false });
    const done = await reply('cut off');
    assert.equal(done.status, 'failed');
    assert.equal(done.content, 'cut');
    assert.match(done.error, /closed the stream before the reply finished/);
  });
});

// Each timeout has its own server with only that timeout short, and the fake provider never sends
// what the timeout waits for: the test cannot depend on how fast a loaded machine streams.
describe('model timeouts', () => {
  async function replyOnce(env: Record<string, string>, script: ReplyScript) {
    const world = await startAgentWorld({ env });
    try {
      const agent = await world.createAgent({ handle: 'slow' });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
      world.provider.enqueue(script);
      const log = world.watch(conversationId);
      await world.send(conversationId, 'anyone there?');
      const done = await log.done();
      log.stop();
      // The first-token clock includes connecting, so on a loaded machine it may run out before
      // the request arrives; whatever did arrive must have been aborted.
      await Promise.all(world.provider.requests.map((request) => request.ended));
      assert.ok(
        world.provider.requests.every((request) => request.isAborted()),
        'the upstream request was aborted',
      );
      return { done, requests: world.provider.requests.length };
    } finally {
      await world.close();
    }
  }

  it('fails on a first-token timeout and aborts the upstream request', async () => {
    const { done, requests } = await replyOnce(
      { ...patient, CHORUS_MODEL_FIRST_TOKEN_TIMEOUT_MS: '300' },
      { steps: [{ stall: true }] },
    );
    assert.equal(done.status, 'failed');
    assert.match(done.error, /did not start answering within 300 ms/);
    assert.ok(requests <= 1, 'a first-token timeout is not retried');
  });

  it('fails on an idle stream after the first token, keeping the partial text', async () => {
    const { done, requests } = await replyOnce(
      { ...patient, CHORUS_MODEL_IDLE_TIMEOUT_MS: '300' },
      { steps: [{ text: 'I was saying' }, { stall: true }] },
    );
    assert.equal(done.status, 'failed');
    assert.equal(done.content, 'I was saying');
    assert.match(done.error, /stopped sending for 300 ms/);
    assert.equal(requests, 1);
  });
});

describe('an unreachable provider', () => {
  it('fails the reply readably once the retries run out', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const world = await startAgentWorld({
      env: { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, CHORUS_MODEL_MAX_RETRIES: '1', ...patient },
    });
    try {
      const agent = await world.createAgent({ handle: 'offline' });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
      const log = world.watch(conversationId);
      await world.send(conversationId, 'anyone there?');
      const done = await log.done();
      log.stop();
      assert.equal(done.status, 'failed');
      assert.match(done.error, /connect|ECONNREFUSED|fetch failed/i);
      const run = await world.server.request('GET', `/api/v1/runs/${done.runId}`, { token: world.alice.accessToken });
      assert.equal(run.body.steps.find((step: any) => step.type === 'generate').output.attempts, 2);
    } finally {
      await world.close();
    }
  });
});

describe('a provider that drops the connection', () => {
  it('shows the streaming reply while the run retries, then fails it readably', async () => {
    // Holds the first connection open until the test has seen the reply, then drops it; drops the
    // retry's at once.
    const sockets: Socket[] = [];
    let release!: () => void;
    const seen = new Promise<void>((resolve) => (release = resolve));
    const dropping = createNetServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      if (sockets.length === 1) void seen.then(() => socket.destroy());
      else socket.destroy();
    });
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    const { port } = dropping.address() as AddressInfo;
    const world = await startAgentWorld({
      env: { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, CHORUS_MODEL_MAX_RETRIES: '1', ...patient },
    });
    try {
      const agent = await world.createAgent({ handle: 'dropped' });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
      const log = world.watch(conversationId);
      await world.send(conversationId, 'anyone there?');
      const shown: any = await log.waitFor((event: any) => event.type === 'message' && event.message.sender.type === 'agent');
      assert.equal(shown.message.status, 'streaming');
      assert.equal(sockets.length, 1, 'shown while the first attempt is still waiting for an answer');
      release();
      const done = await log.done();
      log.stop();
      assert.equal(done.status, 'failed');
      assert.ok(done.error.length > 0);
      assert.equal(sockets.length, 2, 'the dropped connection was retried');
    } finally {
      await world.close();
      await new Promise((resolve) => dropping.close(resolve));
    }
  });
});

describe('no model provider configured', () => {
  it('still starts, and a reply fails with a clear error', async () => {
    const server = await startTestServer();
    try {
      const alice = await server.register('lonely', 'alice');
      const agent = await server.request('POST', '/api/v1/agents', { token: alice.accessToken, body: { handle: 'mute' } });
      assert.equal(agent.status, 201);
      const withModel = await server.request('POST', '/api/v1/agents', {
        token: alice.accessToken,
        body: { handle: 'other', model: 'openai/gpt-4o' },
      });
      assert.equal(withModel.status, 400);
      assert.equal(withModel.body.error.code, 'invalid_request');
      const conversation = await server.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'direct', members: [{ type: 'agent', id: agent.body.id }] },
      });
      const stream = await fetch(`${server.url}/api/v1/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent: 'mute', content: 'hello?', conversationId: conversation.body.id }),
      });
      const text = await stream.text();
      assert.match(text, /event: message\.done/);
      const done = JSON.parse(text.split('event: message.done\ndata: ')[1].split('\n')[0]);
      assert.equal(done.message.status, 'failed');
      assert.match(done.message.error, /No model provider configured/);
    } finally {
      await server.close();
    }
  });
});
