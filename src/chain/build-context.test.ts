import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitContext, type HistoryEntry } from './build-context.ts';
import { countTokens } from './token-count.ts';

const person = (content: string, handle = 'alice'): HistoryEntry => ({
  senderType: 'user',
  senderId: `id-${handle}`,
  senderHandle: handle,
  content,
});
const self = (content: string): HistoryEntry => ({ senderType: 'agent', senderId: 'agent-1', senderHandle: 'bot', content });

describe('fitContext', () => {
  it("maps the agent's messages to assistant and everyone else's to user with their handle", async () => {
    const context = await fitContext({
      agentId: 'agent-1',
      systemPrompt: 'Be brief.',
      history: [
        person('hi'),
        self('hello'),
        { ...self('from another bot'), senderId: 'agent-2', senderHandle: 'other' },
        person('bye', 'bob'),
      ],
      contextWindowTokens: 8192,
      maxOutputTokens: 1024,
    });
    assert.equal(context.system, 'Be brief.');
    assert.deepEqual(context.messages, [
      { role: 'user', content: 'alice: hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'other: from another bot' },
      { role: 'user', content: 'bob: bye' },
    ]);
    assert.equal(context.promptTokens, null, 'small histories fit by their byte size without counting');
  });

  it("with a perspective, writes from the person's side: theirs and their assistant's are assistant turns", async () => {
    const context = await fitContext({
      agentId: 'agent-1',
      systemPrompt: 'For alice.',
      history: [
        person('question', 'bob'),
        person('my answer'),
        { ...self('written for alice'), onBehalfOf: 'id-alice' },
        { ...self('the agent for bob'), onBehalfOf: 'id-bob' },
        person('and now?', 'bob'),
      ],
      contextWindowTokens: 8192,
      maxOutputTokens: 1024,
      perspective: { userId: 'id-alice', system: 'For alice.', closingTurn: '(Suggest the next message for @alice.)' },
    });
    assert.deepEqual(context.messages, [
      { role: 'user', content: 'bob: question' },
      { role: 'assistant', content: 'my answer' },
      { role: 'assistant', content: 'written for alice' },
      { role: 'user', content: 'bot: the agent for bob' },
      { role: 'user', content: 'bob: and now?' },
      { role: 'user', content: '(Suggest the next message for @alice.)' },
    ]);
  });

  it('drops the oldest messages first and never starts with an assistant turn', async () => {
    const long = 'lorem ipsum dolor sit amet '.repeat(10);
    const history = [person(`1 ${long}`), self(`2 ${long}`), person(`3 ${long}`), self(`4 ${long}`), person('5 now')];
    const counts = await countTokens([`alice: 3 ${long}`, `4 ${long}`, 'alice: 5 now']);
    const window = counts.reduce((sum, tokens) => sum + tokens, 0) + 12 + 100;
    const context = await fitContext({
      agentId: 'agent-1',
      systemPrompt: '',
      history,
      contextWindowTokens: window,
      maxOutputTokens: 100,
    });
    assert.deepEqual(
      context.messages.map((message) => message.content.slice(0, 9)),
      ['alice: 3 ', '4 lorem i', 'alice: 5 '],
    );
    assert.equal(context.droppedMessages, 2);
    const tighter = await fitContext({
      agentId: 'agent-1',
      systemPrompt: '',
      history,
      contextWindowTokens: window - 5,
      maxOutputTokens: 100,
    });
    assert.deepEqual(
      tighter.messages.map((message) => message.role),
      ['user'],
      'the assistant turn left at the front is dropped too',
    );
  });

  it('fails readably when even the newest message does not fit', async () => {
    await assert.rejects(
      () =>
        fitContext({
          agentId: 'a',
          systemPrompt: '',
          history: [person('word '.repeat(400))],
          contextWindowTokens: 300,
          maxOutputTokens: 100,
        }),
      /does not fit the model's context window of 300 tokens/,
    );
  });
});
