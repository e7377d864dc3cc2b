import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appendMessage } from '../../src/messages/messages.ts';
import { loadHistory } from '../../src/chain/build-context.ts';
import { createGate, type RecordedRequest } from '../support/fake-providers.ts';
import { startAgentWorld, type AgentWorld } from './support.ts';

const lastUserText = (request: RecordedRequest) =>
  request.body.messages.filter((message: any) => message.role === 'user').at(-1).content as string;

// One server for the three suites (start-up dominates their time); the small window only trims
// the context-window suite's long history.
let world: AgentWorld;
before(async () => {
  world = await startAgentWorld({ env: { CHORUS_CONTEXT_WINDOW_TOKENS: '300' } });
});
after(() => world.close());

describe('run mailboxes', () => {
  let agent: any;

  before(async () => {
    agent = await world.createAgent({ handle: 'worker' });
  });

  it('runs one conversation in order while another conversation with the same agent proceeds', async () => {
    const held = createGate();
    world.provider.setFallback((request) => {
      const text = lastUserText(request);
      if (text.endsWith('first')) return { steps: [{ text: 'one' }, { gate: held.promise }, { text: '!' }] };
      return { steps: [{ text: `re: ${text}` }] };
    });
    const slow = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    const fast = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
    const slowLog = world.watch(slow);
    const fastLog = world.watch(fast);

    await world.send(slow, '@worker first');
    await world.send(slow, '@worker second');
    await slowLog.waitFor((event) => event.type === 'message.delta');
    await world.send(fast, 'elsewhere');
    const fastDone = await fastLog.done();
    assert.equal(fastDone.status, 'complete', 'the other conversation finished while the first run is held');
    const slowStarted = slowLog.of('message').filter((event) => event.message.sender.type === 'agent');
    assert.equal(slowStarted.length, 1, 'the second run waits for the first');
    assert.equal(slowLog.of('message.done').length, 0);

    held.open();
    const firstDone = await slowLog.done(1);
    const secondDone = await slowLog.done(2);
    slowLog.stop();
    fastLog.stop();
    assert.equal(firstDone.content, 'one!');
    assert.ok(secondDone.seq > firstDone.seq);
    const secondRequest = world.provider.requests.find((request) => lastUserText(request).endsWith('second'))!;
    assert.ok(
      secondRequest.body.messages.some((message: any) => message.role === 'assistant' && message.content === 'one!'),
      'the second run saw the first reply',
    );
  });

  it("places the agent's reply stored after the next trigger just before that trigger", async () => {
    const conversationId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    const post = async (sender: { type: 'user' | 'agent'; id: string; handle?: string }, content: string) =>
      (await appendMessage(world.server.context, { workspaceId: world.alice.workspace.id, conversationId, sender, content }))
        .message;
    const alice = { type: 'user' as const, id: world.alice.user.id };
    await post(alice, 'hello');
    await post(alice, 'alpha');
    const beta = await post(alice, 'beta');
    await post({ type: 'agent', id: agent.id, handle: 'worker' }, 'answer to alpha');
    await post(alice, 'gamma');
    const history = await loadHistory(world.server.context.db, beta, agent.id);
    assert.deepEqual(
      history.map((entry) => entry.content),
      ['hello', 'alpha', 'answer to alpha', 'beta'],
    );
  });

  it('shows the next run its earlier reply before the trigger when two messages are posted together', async () => {
    world.provider.setFallback((request) => ({ steps: [{ text: `re: ${lastUserText(request)}` }] }));
    const conversation = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    const log = world.watch(conversation);
    // Posted together: the second is usually stored before the first reply, which is written once
    // the first model request is out.
    await Promise.all([world.send(conversation, '@worker alpha'), world.send(conversation, '@worker beta')]);
    const firstDone = await log.done(1);
    await log.done(2);
    log.stop();
    const [alphaSeq, betaSeq] = log
      .of('message')
      .filter((event) => event.message.sender.type === 'user')
      .map((event) => event.message.seq);
    const alphaFirst = alphaSeq < betaSeq;
    const [firstTrigger, secondTrigger] = alphaFirst ? ['alpha', 'beta'] : ['beta', 'alpha'];
    assert.equal(firstDone.content, `re: alice: @worker ${firstTrigger}`);
    const second = world.provider.requests.find((request) => lastUserText(request).endsWith(secondTrigger))!;
    assert.deepEqual(
      second.body.messages.filter((message: any) => message.role !== 'system').map((message: any) => message.content),
      [`alice: @worker ${firstTrigger}`, firstDone.content, `alice: @worker ${secondTrigger}`],
    );
  });
});

describe('who answers in a group', () => {
  let helper: any;
  let critic: any;
  let bob: any;
  let groupId: string;

  before(async () => {
    helper = await world.createAgent({ handle: 'helper' });
    critic = await world.createAgent({ handle: 'critic' });
    bob = await world.server.join(world.alice, 'bob');
    groupId = await world.createConversation('group', [
      { type: 'user', id: bob.user.id },
      { type: 'agent', id: helper.id },
      { type: 'agent', id: critic.id },
    ]);
    world.provider.setFallback((request) => ({ steps: [{ text: `answer to ${lastUserText(request)}` }] }));
  });

  const agentMessages = async () => {
    const page = await world.server.request('GET', `/api/v1/conversations/${groupId}/messages?limit=200`, {
      token: world.alice.accessToken,
    });
    return page.body.items.filter((message: any) => message.sender.type === 'agent');
  };

  it('answers only the mentioned agent, and nobody without a mention', async () => {
    const log = world.watch(groupId);
    await world.send(groupId, 'hello everyone');
    await world.send(groupId, 'mail me at someone@helper.example');
    await world.send(groupId, 'hey @Helper, what is up?');
    const done = await log.done();
    log.stop();
    assert.equal(done.sender.handle, 'helper');
    assert.equal(done.content, 'answer to alice: hey @Helper, what is up?');
    const replies = await agentMessages();
    assert.deepEqual(
      replies.map((message: any) => message.sender.handle),
      ['helper'],
      'earlier messages were routed first and got no answer',
    );
  });

  it("answers a thread reply to the agent's message, inside the thread", async () => {
    const [helperMessage] = await agentMessages();
    const log = world.watch(groupId);
    await world.send(groupId, 'not in a thread of an agent', bob);
    const bobRoot = await world.send(groupId, 'my own topic', bob);
    await world.send(groupId, 'reply to bob', world.alice, { threadRootId: bobRoot.id });
    await world.send(groupId, 'tell me more', bob, { threadRootId: helperMessage.id });
    const done = await log.done();
    log.stop();
    assert.equal(done.sender.handle, 'helper');
    assert.equal(done.threadRootId, helperMessage.id);
    assert.equal((await agentMessages()).length, 2);
  });

  it('lets an agent answer another agent only when mentioned', async () => {
    world.provider.enqueue({ steps: [{ text: 'over to you @critic' }] });
    const log = world.watch(groupId);
    await world.send(groupId, '@helper start a review');
    const helperDone = await log.done(1);
    const criticDone = await log.done(2);
    log.stop();
    assert.equal(helperDone.sender.handle, 'helper');
    assert.equal(criticDone.sender.handle, 'critic');
    assert.equal(criticDone.content, 'answer to helper: over to you @critic');
  });
});

describe('context window', () => {
  it('keeps the system prompt and the newest messages that fit, dropping the oldest first', async () => {
    const { countTokens } = await import('../../src/chain/token-count.ts');
    const agent = await world.createAgent({
      handle: 'summarizer',
      systemPrompt: 'Summarize the conversation.',
      maxOutputTokens: 60,
    });
    const groupId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    for (let index = 1; index <= 12; index++) {
      await world.send(groupId, `note ${index}: ${'the quick brown fox jumps over the lazy dog '.repeat(2).trim()}`);
    }
    const log = world.watch(groupId);
    await world.send(groupId, '@summarizer please summarize');
    const done = await log.done();
    log.stop();
    const request = world.provider.requests.at(-1)!;
    const sent = request.body.messages as Array<{ role: string; content: string }>;
    assert.deepEqual(sent[0], { role: 'system', content: 'Summarize the conversation.' });
    assert.equal(sent.at(-1)!.content, 'alice: @summarizer please summarize');
    const notes = sent.slice(1, -1).map((message) => Number(/note (\d+)/.exec(message.content)![1]));
    assert.ok(notes.length >= 2 && notes.length < 12, `kept ${notes.length} notes`);
    assert.deepEqual(
      notes,
      Array.from({ length: notes.length }, (_, index) => 12 - notes.length + 1 + index),
      'a contiguous run of the newest notes',
    );
    const cost = async (text: string) => (await countTokens([text]))[0]! + 4;
    const used = (await countTokens(sent.map((message) => message.content))).reduce((sum, tokens) => sum + tokens + 4, 0);
    const budget = 300 - 60;
    assert.ok(used <= budget, `prompt of ${used} tokens fits the ${budget}-token budget`);
    const nextOlder = `alice: note ${12 - notes.length}: ${'the quick brown fox jumps over the lazy dog '.repeat(2).trim()}`;
    assert.ok(used + (await cost(nextOlder)) > budget, 'the next older note would not have fit');
    const run = await world.server.request('GET', `/api/v1/runs/${done.runId}`, { token: world.alice.accessToken });
    assert.equal(run.body.steps.find((step: any) => step.type === 'generate').input.droppedMessages, 12 - notes.length);
  });
});
