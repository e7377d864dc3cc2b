import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startAgentWorld, type AgentWorld } from './support.ts';

describe('the official openai client against /v1', () => {
  let world: AgentWorld;
  let client: OpenAI;

  before(async () => {
    world = await startAgentWorld();
    await world.createAgent({ handle: 'oracle', systemPrompt: 'Answer briefly.' });
    await world.createAgent({ handle: 'scribe' });
    const key = await world.server.request('POST', '/api/v1/api-keys', { token: world.alice.accessToken, body: { name: 'sdk' } });
    assert.equal(key.status, 201);
    client = new OpenAI({ apiKey: key.body.key, baseURL: `${world.server.url}/v1`, maxRetries: 0 });
  });
  after(() => world.close());

  it('lists every agent as a model named by its handle', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    assert.deepEqual(models.sort(), ['oracle', 'scribe']);
  });

  it('completes without streaming, with usage', async () => {
    world.provider.enqueue({ steps: [{ text: 'forty' }, { text: '-two' }], usage: { inputTokens: 12, outputTokens: 2 } });
    const completion = await client.chat.completions.create({
      model: 'oracle',
      messages: [
        { role: 'system', content: 'Be exact.' },
        { role: 'user', content: 'What is the answer?' },
      ],
    });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'oracle');
    assert.equal(completion.choices[0].message.role, 'assistant');
    assert.equal(completion.choices[0].message.content, 'forty-two');
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.deepEqual(completion.usage, { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 });
    const upstream = world.provider.requests.at(-1)!.body;
    assert.deepEqual(upstream.messages, [
      { role: 'system', content: 'Answer briefly.\n\nBe exact.' },
      { role: 'user', content: 'What is the answer?' },
    ]);
  });

  it('streams chunks with a usage chunk when asked', async () => {
    world.provider.enqueue({ steps: [{ text: 'a' }, { text: 'b' }, { text: 'c' }], usage: { inputTokens: 5, outputTokens: 3 } });
    const stream = await client.chat.completions.create({
      model: 'oracle',
      messages: [{ role: 'user', content: 'abc?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, 'abc');
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it('accepts an access token as well', async () => {
    const withJwt = new OpenAI({ apiKey: world.alice.accessToken, baseURL: `${world.server.url}/v1`, maxRetries: 0 });
    const completion = await withJwt.chat.completions.create({ model: 'scribe', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(completion.choices[0].message.content, 'ok');
  });

  it('answers an unknown model with 404, a bad key with 401 and a provider failure with 502', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'nobody', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError);
        return true;
      },
    );
    const stranger = new OpenAI({ apiKey: 'chorus_not-a-key', baseURL: `${world.server.url}/v1`, maxRetries: 0 });
    await assert.rejects(stranger.models.list(), (error: unknown) => error instanceof OpenAI.AuthenticationError);
    world.provider.enqueue({ status: 400, errorMessage: 'context too long' });
    await assert.rejects(
      client.chat.completions.create({ model: 'oracle', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 502);
        assert.match(error.message, /context too long/);
        return true;
      },
    );
  });
});

describe('Anthropic Messages wire format', () => {
  let world: AgentWorld;

  before(async () => {
    world = await startAgentWorld({ wire: 'anthropic' });
  });
  after(() => world.close());

  it('streams a reply from an Anthropic model with its usage', async () => {
    const agent = await world.createAgent({ handle: 'claude', systemPrompt: 'Be kind.', maxOutputTokens: 256 });
    const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
    world.provider.enqueue({ steps: [{ text: 'Hello' }, { text: ', Alice' }], usage: { inputTokens: 17, outputTokens: 4 } });
    const log = world.watch(conversationId);
    await world.send(conversationId, 'hi');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete');
    assert.equal(done.content, 'Hello, Alice');
    assert.equal(done.usage.inputTokens, 17);
    assert.equal(done.usage.outputTokens, 4);
    assert.equal(done.usage.model, 'anthropic/fake-claude');
    const request = world.provider.requests.at(-1)!;
    assert.equal(request.path, '/v1/messages');
    assert.equal(request.headers['x-api-key'], 'sk-ant-test');
    assert.equal(request.body.model, 'fake-claude');
    assert.equal(request.body.max_tokens, 256);
    assert.equal(request.body.stream, true);
    assert.deepEqual(request.body.system, [{ type: 'text', text: 'Be kind.' }]);
    assert.deepEqual(request.body.messages, [{ role: 'user', content: [{ type: 'text', text: 'alice: hi' }] }]);
  });

  it('fails readably on an error event in the middle of an Anthropic stream, keeping the text', async () => {
    const agent = await world.createAgent({ handle: 'claude3' });
    const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
    const errorEvent = `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`;
    world.provider.enqueue({ steps: [{ text: 'Partial' }, { raw: errorEvent }, { stall: true }] });
    const log = world.watch(conversationId);
    await world.send(conversationId, 'hi');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'failed');
    assert.equal(done.content, 'Partial');
    assert.equal(done.error, 'The anthropic provider failed: Overloaded');
    await world.provider.requests.at(-1)!.aborted;
  });

  it('retries an overloaded (529) Anthropic answer', async () => {
    const agent = await world.createAgent({ handle: 'claude2' });
    const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
    world.provider.enqueue({ status: 529, errorMessage: 'Overloaded' }, { steps: [{ text: 'back' }] });
    const log = world.watch(conversationId);
    await world.send(conversationId, 'hi');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete');
    assert.equal(done.content, 'back');
  });
});
