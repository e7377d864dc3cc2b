import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toolCallReply } from '../support/fake-providers.ts';
import type { Session } from '../support/server.ts';
import { waitFor } from '../mcp/support.ts';
import { testDatabases } from '../support/databases.ts';
import { startChainWorld, type ChainWorld } from './support.ts';

for (const database of testDatabases())
  describe(`tool approvals and call_human on ${database.name}`, () => {
    let world: ChainWorld;
    let bob: Session;
    before(async () => {
      world = await startChainWorld({ databaseUrl: await database.createUrl(), env: { CHORUS_HUMAN_REQUEST_TTL_MS: '1500' } });
      bob = await world.server.join(world.alice, 'bob');
    });
    after(() => world.close());

    /** A group of alice, bob and an agent whose counter tool needs approval; alice asks for +3. */
    async function pausedRun() {
      const agent = await world.createAgent({
        handle: `guard${Math.random().toString(36).slice(2, 8)}`,
        tools: ['mcp:web/counter_increment', 'mcp:web/echo'],
        toolApprovals: ['mcp:web/counter_increment'],
      });
      const conversationId = await world.createConversation('group', [
        { type: 'agent', id: agent.id },
        { type: 'user', id: bob.user.id },
      ]);
      const log = world.watch(conversationId);
      world.provider.enqueue(toolCallReply({ name: 'web__counter_increment', args: { by: 3 } }));
      const counter = world.mcp.state.counter;
      await world.send(conversationId, `@${agent.handle} add 3`);
      const frame: any = await log.waitFor((event) => event.type === 'human.request');
      const paused = await log.done();
      return { agent, conversationId, log, frame, paused, counter };
    }

    const answer = (session: Session, runId: string, requestId: string, body: Record<string, unknown>) =>
      world.server.request('POST', `/api/v1/runs/${runId}/approvals/${requestId}`, { token: session.accessToken, body });

    it('pauses for the requester, then runs the exact call once approved', async () => {
      const { log, frame, paused, counter } = await pausedRun();
      assert.equal(paused.status, 'complete');
      assert.equal(paused.parts[0].state, 'awaiting-approval');
      assert.equal(frame.request.addressedTo, world.alice.user.id);
      assert.deepEqual(frame.request.args, { by: 3 });
      assert.equal(frame.request.status, 'pending');
      const requestMessage = log.of('message').find((event) => event.message.id === frame.messageId).message;
      assert.match(requestMessage.content, /^@alice, may I call web__counter_increment with \{"by":3\}\?$/);
      assert.equal(requestMessage.parts[0].type, 'human-request');
      assert.equal(world.mcp.state.counter, counter, 'nothing ran before the approval');
      const waiting = await world.getRun(frame.runId);
      assert.equal(waiting.status, 'waiting');
      assert.equal(waiting.steps.at(-1).finishedAt, null);

      world.provider.enqueue({ steps: [{ text: 'Added 3.' }] });
      const approved = await answer(world.alice, frame.runId, frame.request.requestId, {
        decision: 'approve',
        argsHash: frame.request.argsHash,
      });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      const done = await log.done(2);
      log.stop();
      assert.equal(done.status, 'complete', done.error);
      assert.equal(done.content, 'Added 3.');
      assert.equal(done.parts[0].state, 'done');
      assert.equal(world.mcp.state.counter, counter + 3);
      const run = await world.getRun(frame.runId);
      assert.equal(run.status, 'completed');
      assert.equal(run.messageId, done.id);
      assert.ok(run.steps.at(-1).finishedAt);
      const updated = log.of('message.updated').find((event) => event.message.id === frame.messageId);
      assert.equal(updated.message.parts[0].status, 'approved');

      const again = await answer(world.alice, frame.runId, frame.request.requestId, { decision: 'approve' });
      assert.equal(again.status, 409, 'answered once only');
    });

    it('tells the model when the call is denied', async () => {
      const { log, frame, counter } = await pausedRun();
      world.provider.enqueue({ steps: [{ text: 'Understood, I will not.' }] });
      const denied = await answer(world.alice, frame.runId, frame.request.requestId, { decision: 'deny' });
      assert.equal(denied.status, 200);
      const done = await log.done(2);
      log.stop();
      assert.equal(done.content, 'Understood, I will not.');
      assert.equal(done.parts[0].state, 'denied');
      assert.equal(world.mcp.state.counter, counter);
      const toolMessage = world.provider.requests.at(-1)!.body.messages.find((message: any) => message.role === 'tool');
      assert.equal(toolMessage.tool_call_id, 'call_1');
    });

    it('refuses changed arguments, another member, and a non-member', async () => {
      const { log, frame } = await pausedRun();
      const changed = await answer(world.alice, frame.runId, frame.request.requestId, {
        decision: 'approve',
        argsHash: 'f'.repeat(64),
      });
      assert.equal(changed.status, 409);
      assert.match(changed.body.error.message, /arguments changed/);
      const byBob = await answer(bob, frame.runId, frame.request.requestId, { decision: 'approve' });
      assert.equal(byBob.status, 403);
      const carol = await world.server.join(world.alice, `carol${Math.random().toString(36).slice(2, 6)}`);
      const byCarol = await answer(carol, frame.runId, frame.request.requestId, { decision: 'approve' });
      assert.equal(byCarol.status, 404);
      assert.equal((await world.getRun(frame.runId)).status, 'waiting', 'still waiting for alice');
      log.stop();
    });

    it('expires unanswered with a readable status', async () => {
      const { log, frame } = await pausedRun();
      await waitFor(async () => (await world.getRun(frame.runId)).status === 'failed', 10_000);
      const run = await world.getRun(frame.runId);
      assert.equal(run.error, 'The approval of web__counter_increment expired unanswered');
      const late = await answer(world.alice, frame.runId, frame.request.requestId, { decision: 'approve' });
      assert.equal(late.status, 409);
      const updated = await log.waitFor((event) => event.type === 'message.updated');
      assert.equal((updated as any).message.parts[0].status, 'expired');
      log.stop();
    });

    it('is answered over the WebSocket too', async () => {
      const { log, frame } = await pausedRun();
      world.provider.enqueue({ steps: [{ text: 'ok' }] });
      const socket = new WebSocket(world.server.url.replace('http', 'ws') + '/api/v1/ws', {
        headers: { authorization: `Bearer ${world.alice.accessToken}` },
      } as any);
      await new Promise((resolve) => socket.addEventListener('open', resolve, { once: true }));
      const ack = new Promise<any>((resolve) =>
        socket.addEventListener('message', (event) => {
          const data = JSON.parse(String(event.data));
          if (data.type === 'ack' && data.id === 'a1') resolve(data);
        }),
      );
      socket.send(
        JSON.stringify({
          type: 'approve',
          id: 'a1',
          runId: frame.runId,
          approvalId: frame.request.requestId,
          decision: 'approve',
        }),
      );
      const acked = await ack;
      socket.close();
      assert.equal(acked.run.id, frame.runId);
      const done = await log.done(2);
      log.stop();
      assert.equal(done.content, 'ok');
    });

    it('call_human asks a member; their thread reply resumes the run with it as the step output', async () => {
      const agent = await world.createAgent({
        handle: `asker${Math.random().toString(36).slice(2, 8)}`,
        chain: { steps: [{ type: 'call_human', member: 'bob', question: 'Which city should I use?' }, { type: 'generate' }] },
      });
      const conversationId = await world.createConversation('group', [
        { type: 'agent', id: agent.id },
        { type: 'user', id: bob.user.id },
      ]);
      const log = world.watch(conversationId);
      await world.send(conversationId, `@${agent.handle} book a hotel`);
      const frame: any = await log.waitFor((event) => event.type === 'human.request');
      assert.equal(frame.request.kind, 'question');
      assert.equal(frame.request.addressedTo, bob.user.id);
      const question = log.of('message').find((event) => event.message.id === frame.messageId).message;
      assert.equal(question.content, '@bob, Which city should I use?');
      assert.equal((await world.getRun(frame.runId)).status, 'waiting');

      const requests = world.provider.requests.length;
      world.provider.enqueue({ steps: [{ text: 'Booking in Lisbon.' }] });
      await world.send(conversationId, 'Lisbon', bob, { threadRootId: frame.messageId });
      const done = await log.done(2);
      log.stop();
      assert.equal(done.content, 'Booking in Lisbon.');
      assert.equal(world.provider.requests.length, requests + 1, 'the answer resumed the run; no extra reply to it');
      assert.match(
        world.provider.requests.at(-1)!.body.messages[0].content,
        /A person answered "Which city should I use\?": Lisbon/,
      );
      const run = await world.getRun(frame.runId);
      assert.equal(run.status, 'completed');
      assert.equal(run.steps[0].type, 'call_human');
      assert.equal(run.steps[0].output.answer, 'Lisbon');
      assert.equal(run.steps[0].output.answeredBy, bob.user.id);
    });
  });
