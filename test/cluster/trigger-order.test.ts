import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MessagePostedListener } from '../../src/messages/messages.ts';
import { RedisRunQueue } from '../../src/runs/run-queue.redis.ts';
import { routingWindowMs } from '../../src/runs/trigger-order.ts';
import { startAgentWorld, type AgentWorld } from '../agents/support.ts';
import { testDatabases } from '../support/databases.ts';
import { waitFor } from '../support/cluster.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
const skip = !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL' : false;

/** The last user turn of a recorded OpenAI chat request. */
function lastUserText(body: { messages: Array<{ role: string; content: unknown }> }): string {
  const turn = body.messages.filter((message) => message.role === 'user').at(-1);
  return typeof turn?.content === 'string' ? turn.content : JSON.stringify(turn?.content);
}

/**
 * Distributed mode, one node: routing of the first message is held back, as when another API node
 * committed it but has not queued its run yet, while a later message's run reaches the shared
 * queue. The later run must wait for the earlier one (trigger-order.ts, decision 0018).
 */
describe('trigger order across nodes (shared run queue)', { skip }, () => {
  let world: AgentWorld;
  let listeners: MessagePostedListener[];
  /** Routes of messages whose content includes `hold` are kept here instead of running. */
  const held = new Map<string, () => void>();

  before(async () => {
    world = await startAgentWorld({
      databaseUrl: (await postgres!.createUrl())!,
      env: { REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: 'trigger-order-secret-trigger-order-secret' },
    });
    const posted = world.server.context.messagePosted;
    listeners = [...posted];
    posted.clear();
    posted.add((message, conversation) => {
      const route = () => {
        for (const listener of listeners) listener(message, conversation);
      };
      const key = /hold-\w+/.exec(message.content)?.[0];
      if (key) held.set(key, route);
      else route();
    });
  });
  after(async () => {
    await world?.close();
  });

  it('a later message’s run waits until the earlier message’s run is queued, then runs after it', async () => {
    const agent = await world.createAgent({ handle: 'scribe', name: 'Scribe', systemPrompt: 'Write.' });
    const conversationId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    const log = world.watch(conversationId);
    await world.send(conversationId, '@scribe first hold-one');
    await world.send(conversationId, '@scribe second');
    // The second run is queued and deferred: nothing reaches the provider while the first is unrouted.
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(world.provider.requests.length, 0, 'the later run did not start before the earlier one');
    held.get('hold-one')!();
    await log.done(2);
    const texts = world.provider.requests.map((request) => lastUserText(request.body));
    assert.equal(texts.length, 2);
    assert.match(texts[0]!, /first/);
    assert.match(texts[1]!, /second/);
    log.stop();
  });

  it('a later run waits while the earlier run is stored `queued` but not yet in the shared queue', async () => {
    // The window between a run's insert and its submit to Redis: the later run's retries must not
    // take the stored row for a queued one (a CI run once saw the later run go first this way).
    const agent = await world.createAgent({ handle: 'notary', name: 'Notary', systemPrompt: 'Write.' });
    const conversationId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    const log = world.watch(conversationId);
    const before = world.provider.requests.length;
    const submit = RedisRunQueue.prototype.submit;
    const submitted = Promise.withResolvers<void>();
    let heldOrder: number | undefined;
    const release = Promise.withResolvers<void>();
    RedisRunQueue.prototype.submit = async function (this: RedisRunQueue, mailbox, run) {
      if (run.order === heldOrder) {
        submitted.resolve();
        await release.promise;
      }
      return submit.call(this, mailbox, run);
    };
    try {
      const first = await world.send(conversationId, '@notary first hold-three');
      heldOrder = first.seq;
      await world.send(conversationId, '@notary second');
      held.get('hold-three')!();
      await submitted.promise; // the first run's row is stored `queued`; its submit waits
      await new Promise((resolve) => setTimeout(resolve, 800)); // the deferred later run retries every 250 ms
      assert.equal(world.provider.requests.length, before, 'the later run did not overtake the stored earlier one');
      release.resolve();
      await log.done(2);
    } finally {
      RedisRunQueue.prototype.submit = submit;
      release.resolve();
    }
    const texts = world.provider.requests.slice(before).map((request) => lastUserText(request.body));
    assert.deepEqual(
      texts.map((text) => /first|second/.exec(text)?.[0]),
      ['first', 'second'],
    );
    log.stop();
  });

  it('an earlier message that is never routed (its node died) delays the later run by the routing window at most', async () => {
    const agent = await world.createAgent({ handle: 'clerk', name: 'Clerk', systemPrompt: 'Write.' });
    const conversationId = await world.createConversation('group', [{ type: 'agent', id: agent.id }]);
    const log = world.watch(conversationId);
    const before = world.provider.requests.length;
    const sentAt = Date.now();
    await world.send(conversationId, '@clerk lost hold-two');
    await world.send(conversationId, '@clerk kept');
    const reply = await log.done(1);
    assert.equal(reply.status, 'complete');
    assert.ok(Date.now() - sentAt >= routingWindowMs - 500, 'the later run waited for the earlier one’s window');
    await waitFor('the provider request', async () => world.provider.requests.length === before + 1);
    assert.match(lastUserText(world.provider.requests.at(-1)!.body), /kept/);
    log.stop();
  });
});
