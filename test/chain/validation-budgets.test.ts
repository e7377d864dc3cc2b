import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toolCallReply } from '../support/fake-providers.ts';
import { startChainWorld, type ChainWorld } from './support.ts';

describe('chain validation and run budgets', () => {
  let world: ChainWorld;
  before(async () => {
    world = await startChainWorld();
  });
  after(() => world.close());

  const create = (body: Record<string, unknown>) =>
    world.server.request('POST', '/api/v1/agents', {
      token: world.alice.accessToken,
      body: { handle: `v${Math.random().toString(36).slice(2, 8)}`, ...body },
    });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['an unknown step type', { steps: [{ type: 'dance' }] }, /chain\.steps\.0\.type: unknown step type/],
    ['a decide without options', { steps: [{ type: 'decide', question: 'x' }] }, /chain\.steps\.0\.options/],
    [
      'a decide option without next',
      { steps: [{ type: 'decide', question: 'x', options: [{ value: 'a' }, { value: 'b', next: 'end' }] }] },
      /chain\.steps\.0\.options\.0\.next/,
    ],
    ['a use_tool without tool', { steps: [{ type: 'use_tool' }] }, /chain\.steps\.0\.tool/],
    ['an unknown option', { steps: [{ type: 'generate', temperature: 2 }] }, /chain\.steps\.0: Unrecognized key/i],
    ['a next naming no step', { steps: [{ type: 'generate', next: 'nowhere' }] }, /next step "nowhere" does not exist/],
    [
      'a cycle',
      {
        steps: [
          { id: 'a', type: 'rag' },
          { id: 'b', type: 'generate', next: 'a' },
        ],
      },
      /cycle: "a" → "b" → "a"/,
    ],
    [
      'an unreachable step',
      {
        steps: [
          { type: 'generate', next: 'end' },
          { id: 'orphan', type: 'rag' },
        ],
      },
      /step "orphan" can never run/,
    ],
    [
      'a bad regex',
      { steps: [{ type: 'refuse', when: { pattern: '(' } }, { type: 'generate' }] },
      /not a valid regular expression/,
    ],
    ['a gate without rules', { steps: [{ type: 'accept', when: {} }] }, /needs at least one rule/],
    [
      'a use_tool of a tool the agent lacks',
      { steps: [{ type: 'use_tool', tool: 'mcp:web/echo' }] },
      /mcp:web\/echo is not one of the agent's tools/,
    ],
  ];
  for (const [what, chain, message] of invalid) {
    it(`refuses ${what} with invalid_request`, async () => {
      const response = await create({ chain });
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.equal(response.body.error.code, 'invalid_request');
      assert.match(response.body.error.message, message);
      assert.ok(Array.isArray(response.body.error.details));
    });
  }

  it('refuses tool refs naming no MCP server, and toolApprovals of tools the agent lacks', async () => {
    const unknown = await create({ tools: ['mcp:nowhere/echo'] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /no MCP server named "nowhere"/);
    const approvals = await create({ tools: ['mcp:web/echo'], toolApprovals: ['mcp:local/echo'] });
    assert.equal(approvals.status, 400);
    assert.match(approvals.body.error.message, /toolApprovals names tools the agent does not have: mcp:local\/echo/);
  });

  it('validates on PATCH too, and null restores the default chain', async () => {
    const created = await create({ chain: { steps: [{ type: 'generate' }] }, budgets: { maxToolCalls: 3 } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.chain, { steps: [{ type: 'generate' }] });
    assert.deepEqual(created.body.budgets, { maxToolCalls: 3 });
    const patch = (body: unknown) =>
      world.server.request('PATCH', `/api/v1/agents/${created.body.id}`, { token: world.alice.accessToken, body });
    const bad = await patch({ chain: { steps: [{ id: 'x', type: 'generate', next: 'x' }] } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /cycle/);
    const reset = await patch({ chain: null });
    assert.equal(reset.status, 200);
    assert.equal(reset.body.chain, null);
  });

  it('ends the run when it reaches its step budget', async () => {
    const { conversationId } = await world.directWith({ budgets: { maxSteps: 2 } });
    const log = world.watch(conversationId);
    await world.send(conversationId, 'hi');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'failed');
    assert.equal(done.error, 'Stopped: the run reached its budget of 2 steps');
    const run = await world.getRun(done.runId);
    assert.equal(run.status, 'failed');
    assert.equal(run.error, done.error);
    assert.equal(run.steps.at(-1).type, 'generate');
    assert.equal(run.steps.at(-1).error, done.error);
  });

  it('ends the run when it reaches its tool-call budget', async () => {
    const { conversationId } = await world.directWith({ tools: ['mcp:local/echo'], budgets: { maxToolCalls: 1 } });
    const log = world.watch(conversationId);
    world.provider.enqueue(toolCallReply({ name: 'local__echo', args: { n: 1 } }, { name: 'local__echo', args: { n: 2 } }));
    await world.send(conversationId, 'twice');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'failed');
    assert.equal(done.error, 'Stopped: the run reached its budget of 1 tool calls');
    assert.equal(done.parts.length, 1, 'the first call ran, the second never started');
  });

  it('ends the run when it spent its token budget', async () => {
    const { conversationId } = await world.directWith({ tools: ['mcp:local/echo'], budgets: { maxTokens: 100 } });
    const log = world.watch(conversationId);
    world.provider.enqueue({ ...toolCallReply({ name: 'local__echo', args: {} }), usage: { inputTokens: 90, outputTokens: 20 } });
    await world.send(conversationId, 'spend');
    const done = await log.done();
    log.stop();
    assert.equal(done.status, 'failed');
    assert.equal(done.error, 'Stopped: the run used 110 tokens, over its budget of 100');
    assert.deepEqual(done.parts, [], 'no tool ran after the budget was spent');
    assert.equal(done.usage.inputTokens, 90);
  });

  it('stops offering tools at the round cap so the model answers', async () => {
    const chain = { steps: [{ type: 'generate', maxRounds: 2 }] };
    const { conversationId } = await world.directWith({ tools: ['mcp:local/echo'], chain });
    const log = world.watch(conversationId);
    world.provider.enqueue(toolCallReply({ name: 'local__echo', args: {} }), { steps: [{ text: 'final' }] });
    await world.send(conversationId, 'loop');
    const done = await log.done();
    log.stop();
    assert.equal(done.content, 'final');
    assert.equal(world.provider.requests.at(-1)!.body.tools, undefined);
  });
});
