import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toolCallReply } from '../support/fake-providers.ts';
import { testDatabases } from '../support/databases.ts';
import { startChainWorld, type ChainWorld } from './support.ts';

for (const database of testDatabases()) {
  describe(`generate with MCP tools on ${database.name}`, () => {
    let world: ChainWorld;
    before(async () => {
      world = await startChainWorld({ databaseUrl: await database.createUrl() });
    });
    after(() => world.close());

    it('calls tools over stdio and Streamable HTTP, streams the calls as parts, and answers with the results', async () => {
      const { conversationId } = await world.directWith({ tools: ['mcp:local/echo', 'mcp:web/*'] });
      const log = world.watch(conversationId);
      world.provider.enqueue(
        toolCallReply({ name: 'local__echo', args: { city: 'Paris' } }, { name: 'web__counter_increment', args: { by: 2 } }),
        { steps: [{ text: 'Paris, and the counter is 2.' }] },
      );
      await world.send(conversationId, 'weather?');
      const done = await log.done();
      log.stop();
      assert.equal(done.status, 'complete', done.error);
      assert.equal(done.content, 'Paris, and the counter is 2.');
      assert.equal(done.parts.length, 2);
      assert.deepEqual(done.parts[0], {
        type: 'tool-call',
        toolCallId: 'call_1',
        name: 'local__echo',
        ref: 'mcp:local/echo',
        args: { city: 'Paris' },
        state: 'done',
        result: { text: '{"city":"Paris"}', isError: false },
      });
      assert.equal(done.parts[1].ref, 'mcp:web/*');
      assert.deepEqual(done.parts[1].result, { text: '2', isError: false });
      assert.equal(world.mcp.state.counter, 2);

      // Every viewer saw "calling X with …" then the result, as part updates of message.delta.
      const partFrames = log.of('message.delta').filter((frame) => frame.part);
      assert.deepEqual(
        partFrames.map((frame) => [frame.partIndex, frame.part.state, frame.delta]),
        [
          [0, 'running', ''],
          [0, 'done', ''],
          [1, 'running', ''],
          [1, 'done', ''],
        ],
      );
      assert.deepEqual(partFrames[0].part.args, { city: 'Paris' });

      // The second round got the tool calls and their results in the OpenAI wire format.
      const second = world.provider.requests.at(-1)!.body;
      const assistant = second.messages.find((message: any) => message.role === 'assistant');
      assert.equal(assistant.tool_calls[0].function.name, 'local__echo');
      const results = second.messages.filter((message: any) => message.role === 'tool');
      assert.deepEqual(
        results.map((message: any) => [message.tool_call_id, message.content]),
        [
          ['call_1', '{"city":"Paris"}'],
          ['call_2', '2'],
        ],
      );
      assert.deepEqual(
        world.provider.requests
          .at(-2)!
          .body.tools.map((tool: any) => tool.function.name)
          .sort(),
        ['local__echo', 'web__add_tool', 'web__counter_increment', 'web__echo', 'web__fail', 'web__hang', 'web__throw'].sort(),
      );

      const run = await world.getRun(done.runId);
      const generate = run.steps.find((step: any) => step.type === 'generate');
      assert.equal(generate.output.rounds, 2);
      assert.equal(generate.output.toolCalls, 2);
      const history = await world.server.request('GET', `/api/v1/conversations/${conversationId}/messages`, {
        token: world.alice.accessToken,
      });
      assert.deepEqual(history.body.items.at(-1).parts, done.parts, 'the stored message keeps its parts');
    });

    it('gives the model a failing tool’s error and records a down server without losing the other tools', async () => {
      const { conversationId } = await world.directWith({ tools: ['mcp:down/*', 'mcp:web/fail'] });
      const log = world.watch(conversationId);
      world.provider.enqueue(toolCallReply({ name: 'web__fail', args: { message: 'disk full' } }), {
        steps: [{ text: 'The tool failed: disk full.' }],
      });
      await world.send(conversationId, 'try it');
      const done = await log.done();
      log.stop();
      assert.equal(done.status, 'complete');
      assert.equal(done.parts[0].state, 'error');
      assert.deepEqual(done.parts[0].result, { text: 'disk full', isError: true });
      const run = await world.getRun(done.runId);
      const generate = run.steps.find((step: any) => step.type === 'generate');
      assert.deepEqual(generate.input.tools, ['web__fail']);
      assert.equal(generate.input.toolErrors.length, 1);
      assert.equal(generate.input.toolErrors[0].ref, 'mcp:down/*');
    });

    it('cancels a run during a tool call: the call is aborted upstream and the reply ends cancelled', async () => {
      const { conversationId } = await world.directWith({ tools: ['mcp:web/hang'] });
      const log = world.watch(conversationId);
      world.provider.enqueue(toolCallReply({ name: 'web__hang', args: {} }));
      const before = world.mcp.state.hangsCancelled;
      await world.send(conversationId, 'hang');
      const running = await log.waitFor((event) => event.type === 'message.delta' && (event.part as any)?.state === 'running');
      const message = log.of('message').find((event) => event.message.id === running.messageId).message;
      const cancel = await world.server.request('POST', `/api/v1/runs/${message.runId}/cancel`, {
        token: world.alice.accessToken,
      });
      assert.equal(cancel.body.status, 'cancelled');
      const done = await log.done();
      log.stop();
      assert.equal(done.status, 'cancelled');
      const deadline = Date.now() + 5_000;
      while (world.mcp.state.hangsCancelled === before && Date.now() < deadline)
        await new Promise((resolve) => setImmediate(resolve));
      assert.equal(world.mcp.state.hangsCancelled, before + 1, 'the MCP server saw the call cancelled');
    });
  });
}
