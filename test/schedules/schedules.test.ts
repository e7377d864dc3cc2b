import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startAgentWorld, type AgentWorld } from '../agents/support.ts';
import { testDatabases } from '../support/databases.ts';

/** Resolves once `check` returns a value, checking every 20 ms; rejects after `timeoutMs`. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

type Row = Record<string, any>;
const query = async (world: AgentWorld, text: string): Promise<Row[]> =>
  ((await world.server.context.db.execute(text as never)) as unknown as { rows: Row[] }).rows;

for (const database of testDatabases()) {
  describe(`scheduled agent runs on ${database.name}`, () => {
    let world: AgentWorld;

    before(async () => {
      world = await startAgentWorld({ databaseUrl: await database.createUrl(), env: { CHORUS_SCHEDULER_TICK_MS: '100' } });
    });
    after(() => world.close());

    it('fires: posts the prompt as the creator and the agent answers it in a group, then pauses, resumes and deletes', async () => {
      const agent = await world.createAgent({ handle: 'reporter' });
      const bob = await world.server.join(world.alice, 'bob');
      const conversationId = await world.createConversation('group', [
        { type: 'agent', id: agent.id },
        { type: 'user', id: bob.user.id },
      ]);
      const log = world.watch(conversationId);
      world.provider.setFallback(() => ({ steps: [{ text: 'Daily report: all green.' }] }));
      const created = await world.server.request('POST', '/api/v1/schedules', {
        token: world.alice.accessToken,
        body: {
          agentId: agent.id,
          conversationId,
          cron: '* * * * * *',
          timezone: 'Europe/Paris',
          prompt: 'Post the daily report',
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.paused, false);
      assert.ok(new Date(created.body.nextRunAt).getTime() > Date.now() - 1_000);

      const reply = await log.done();
      assert.equal(reply.sender.id, agent.id);
      assert.equal(reply.content, 'Daily report: all green.');
      const prompt = log
        .of('message')
        .map((event) => event.message)
        .find((message) => message.sender.type === 'user');
      assert.equal(prompt.content, 'Post the daily report');
      assert.equal(prompt.sender.id, world.alice.user.id);
      assert.match(prompt.clientMsgId, new RegExp(`^schedule:${created.body.id}:\\d+$`));

      const paused = await world.server.request('PATCH', `/api/v1/schedules/${created.body.id}`, {
        token: world.alice.accessToken,
        body: { paused: true },
      });
      assert.equal(paused.body.paused, true);
      assert.equal(
        await world.server.context.scheduler!.tick(new Date(Date.now() + 86_400_000)),
        0,
        'a paused schedule never fires',
      );
      const resumed = await world.server.request('PATCH', `/api/v1/schedules/${created.body.id}`, {
        token: world.alice.accessToken,
        body: { paused: false },
      });
      assert.equal(resumed.body.paused, false);
      assert.ok(new Date(resumed.body.nextRunAt).getTime() >= Date.now() - 1_000, 'missed occurrences while paused are skipped');
      const listed = await world.server.request('GET', '/api/v1/schedules', { token: world.alice.accessToken });
      assert.deepEqual(
        listed.body.items.map((item: { id: string }) => item.id),
        [created.body.id],
      );
      assert.equal((await world.server.request('GET', '/api/v1/schedules', { token: bob.accessToken })).body.items.length, 0);
      assert.equal(
        (await world.server.request('DELETE', `/api/v1/schedules/${created.body.id}`, { token: bob.accessToken })).status,
        404,
      );
      const removed = await world.server.request('DELETE', `/api/v1/schedules/${created.body.id}`, {
        token: world.alice.accessToken,
      });
      assert.equal(removed.status, 204);
    });

    it('lets exactly one of several concurrent claimers fire an occurrence (as nodes sharing the database)', async () => {
      const agent = await world.createAgent({ handle: 'racer' });
      const conversationId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
      const created = await world.server.request('POST', '/api/v1/schedules', {
        token: world.alice.accessToken,
        body: { agentId: agent.id, conversationId, cron: '0 9 * * *', prompt: 'race', timezone: 'UTC' },
      });
      assert.equal(created.status, 201);
      // Due an hour from now: the server's own ticks (at the real time) leave it to the claimers below.
      await query(world, `update schedules set next_run_at = now() + interval '1 hour' where id = '${created.body.id}'`);
      const { claimDueSchedules } = await import('../../src/schedules/scheduler.ts');
      const now = new Date(Date.now() + 2 * 3_600_000);
      const results = await Promise.all(Array.from({ length: 4 }, () => claimDueSchedules(world.server.context.db, now)));
      const claims = results.flat().filter((claim) => claim.scheduleId === created.body.id);
      assert.equal(claims.length, 1);
    });

    it('refuses a bad cron expression, an unknown time zone, an agent outside the conversation and foreign ids', async () => {
      const agent = await world.createAgent({ handle: 'idle' });
      const other = await world.createAgent({ handle: 'other' });
      const conversationId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
      const post = (body: Record<string, unknown>) =>
        world.server.request('POST', '/api/v1/schedules', {
          token: world.alice.accessToken,
          body: { agentId: agent.id, conversationId, cron: '0 9 * * *', prompt: 'hi', ...body },
        });
      const badCron = await post({ cron: 'every day at 9' });
      assert.equal(badCron.status, 400);
      assert.match(badCron.body.error.message, /Invalid schedule/);
      assert.equal((await post({ timezone: 'Mars/Olympus' })).status, 400);
      const outsider = await post({ agentId: other.id });
      assert.equal(outsider.status, 400);
      assert.match(outsider.body.error.message, /not a member/);
      assert.equal((await post({ agentId: '01900000-0000-7000-8000-000000000000' })).status, 404);
      const stranger = await world.server.register('elsewhere', 'eve');
      const foreign = await world.server.request('POST', '/api/v1/schedules', {
        token: stranger.accessToken,
        body: { agentId: agent.id, conversationId, cron: '0 9 * * *', prompt: 'hi' },
      });
      assert.equal(foreign.status, 404);
    });
  });

  describe(`a schedule missed during downtime on ${database.name}`, () => {
    it('fires once after a restart, not once per missed occurrence', async () => {
      const databaseUrl = await database.createUrl();
      // One tick at start-up only: the hour-long interval never comes round during the test.
      const env = { CHORUS_SCHEDULER_TICK_MS: '3600000' };
      const first = await startAgentWorld({ databaseUrl, env, keepDataDir: true });
      const dataDir = databaseUrl ? undefined : first.server.dataDir;
      let scheduleId: string;
      let conversationId: string;
      try {
        const agent = await first.createAgent({ handle: 'morning' });
        conversationId = await first.createConversation('group', [{ type: 'agent', id: agent.id }]);
        const created = await first.server.request('POST', '/api/v1/schedules', {
          token: first.alice.accessToken,
          body: {
            agentId: agent.id,
            conversationId,
            cron: '0 9 * * *',
            timezone: 'Europe/Paris',
            prompt: 'Good morning summary',
          },
        });
        assert.equal(created.status, 201);
        scheduleId = created.body.id;
        // Three days without a node: the 9:00 occurrences of three days were missed.
        await query(first, `update schedules set next_run_at = now() - interval '3 days' where id = '${scheduleId}'`);
      } finally {
        await first.close();
      }

      const second = await startAgentWorld({ databaseUrl, dataDir, env });
      try {
        const replies = await eventually(async () => {
          const rows = await query(
            second,
            `select content from messages where conversation_id = '${conversationId}' and sender_type = 'agent' and status = 'complete'`,
          );
          return rows.length > 0 ? rows : undefined;
        });
        assert.equal(replies.length, 1);
        const prompts = await query(
          second,
          `select content from messages where conversation_id = '${conversationId}' and sender_type = 'user'`,
        );
        assert.deepEqual(
          prompts.map((row) => row.content),
          ['Good morning summary'],
        );
        const [schedule] = await query(second, `select next_run_at, last_fired_at from schedules where id = '${scheduleId}'`);
        assert.ok(new Date(schedule!.next_run_at).getTime() > Date.now(), 'the next occurrence is in the future');
        assert.ok(schedule!.last_fired_at);
        assert.equal(await second.server.context.scheduler!.tick(), 0, 'nothing left to catch up');
      } finally {
        await second.close();
        rmSync(first.server.dataDir, { recursive: true, force: true });
      }
    });
  });
}
