import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonReply, toolCallReply } from '../support/fake-providers.ts';
import { startChainWorld, type ChainWorld } from './support.ts';

describe('declared chains and their steps', () => {
  let world: ChainWorld;
  before(async () => {
    world = await startChainWorld();
  });
  after(() => world.close());

  const routedChain = {
    steps: [
      {
        id: 'route',
        type: 'decide',
        question: 'Does the user want the counter increased or a chat?',
        options: [
          { value: 'count', description: 'increase the counter', next: 'bump' },
          { value: 'chat', next: 'answer' },
        ],
      },
      { id: 'bump', type: 'use_tool', tool: 'mcp:web/counter_increment', args: { by: 5 }, next: 'answer' },
      { id: 'answer', type: 'generate', tools: false },
    ],
  };

  it('branches on decide (structured output) into use_tool, then generate sees the tool result', async () => {
    const { conversationId } = await world.directWith({ tools: ['mcp:web/counter_increment'], chain: routedChain });
    const log = world.watch(conversationId);
    const counter = world.mcp.state.counter;
    world.provider.enqueue(jsonReply({ choice: 'count' }), { steps: [{ text: 'Counter bumped.' }] });
    await world.send(conversationId, 'bump it please');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete', done.error);
    assert.equal(done.content, 'Counter bumped.');
    assert.equal(world.mcp.state.counter, counter + 5);
    assert.equal(done.parts[0].type, 'tool-call');
    const run = await world.getRun(done.runId);
    assert.deepEqual(
      run.steps.map((step: any) => [step.id, step.type]),
      [
        ['route', 'decide'],
        ['bump', 'use_tool'],
        ['answer', 'generate'],
      ],
    );
    assert.deepEqual(run.steps[0].output, { choice: 'count', next: 'bump' });
    assert.ok(run.steps[0].usage.inputTokens > 0);
    const decideRequest = world.provider.requests.at(-2)!.body;
    assert.equal(decideRequest.response_format.type, 'json_schema');
    assert.deepEqual(decideRequest.response_format.json_schema.schema.properties.choice.enum, ['count', 'chat']);
    const system = world.provider.requests.at(-1)!.body.messages[0].content;
    assert.match(system, /Tool web__counter_increment returned: \d+/);
    assert.match(system, /Decision on "Does the user want the counter increased or a chat\?": count/);
  });

  it('takes the other branch, skipping the tool', async () => {
    const { conversationId } = await world.directWith({ tools: ['mcp:web/counter_increment'], chain: routedChain });
    const log = world.watch(conversationId);
    world.provider.enqueue(jsonReply({ choice: 'chat' }), { steps: [{ text: 'Hello!' }] });
    await world.send(conversationId, 'just saying hi');
    const done = await log.done();
    log.stop();
    const run = await world.getRun(done.runId);
    assert.deepEqual(
      run.steps.map((step: any) => step.id),
      ['route', 'answer'],
    );
    assert.deepEqual(done.parts, []);
  });

  it('fails the run readably when decide answers no option', async () => {
    const { conversationId } = await world.directWith({ tools: ['mcp:web/counter_increment'], chain: routedChain });
    const log = world.watch(conversationId);
    world.provider.enqueue(jsonReply({ choice: 'dance' }));
    await world.send(conversationId, '?');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'failed');
    assert.match(done.error, /chose none of the options \(count, chat\)/);
  });

  it('use_tool with model-filled arguments forces that tool', async () => {
    const chain = { steps: [{ type: 'use_tool', tool: 'mcp:local/echo' }] };
    const { conversationId } = await world.directWith({ tools: ['mcp:local/*'], chain });
    const log = world.watch(conversationId);
    world.provider.enqueue(toolCallReply({ name: 'local__echo', args: { note: 'from the model' } }));
    await world.send(conversationId, 'echo my note');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete', done.error);
    assert.deepEqual(done.parts[0].args, { note: 'from the model' });
    assert.equal(done.parts[0].result.text, '{"note":"from the model"}');
    const request = world.provider.requests.at(-1)!.body;
    assert.deepEqual(request.tool_choice, { type: 'function', function: { name: 'local__echo' } });
  });

  it('refuse stops a matching message before any model call, accept lets others through', async () => {
    const chain = {
      steps: [
        { type: 'refuse', when: { pattern: 'password' }, reply: 'I never handle passwords.' },
        { type: 'accept', when: { senders: ['alice'] } },
        { type: 'generate' },
      ],
    };
    const { conversationId } = await world.directWith({ chain });
    const requests = world.provider.requests.length;
    let log = world.watch(conversationId);
    await world.send(conversationId, 'what is my PASSWORD?');
    let done = await log.done();
    log.stop();
    assert.equal(done.status, 'complete');
    assert.equal(done.content, 'I never handle passwords.');
    assert.equal(world.provider.requests.length, requests);
    let run = await world.getRun(done.runId);
    assert.deepEqual(run.steps[0].output, { decision: 'refused', reason: 'every rule matched' });
    assert.equal(run.steps.length, 1);

    log = world.watch(conversationId);
    world.provider.enqueue({ steps: [{ text: 'Sure.' }] });
    await world.send(conversationId, 'hello');
    done = await log.done();
    log.stop();
    assert.equal(done.content, 'Sure.');
    run = await world.getRun(done.runId);
    assert.deepEqual(
      run.steps.map((step: any) => step.output.decision ?? step.type),
      ['accepted', 'accepted', 'generate'],
    );
  });

  it('accept ends the run with its reply when a rule does not hold', async () => {
    const chain = { steps: [{ type: 'accept', when: { senders: ['bob'] }, reply: 'Only for bob.' }, { type: 'generate' }] };
    const { conversationId } = await world.directWith({ chain });
    const log = world.watch(conversationId);
    await world.send(conversationId, 'hi');
    const done = await log.done();
    log.stop();
    assert.equal(done.content, 'Only for bob.');
    const run = await world.getRun(done.runId);
    assert.deepEqual(run.steps[0].output, { decision: 'refused', reason: 'sender @alice is not listed' });
  });
});
