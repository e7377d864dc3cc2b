import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { PresenceChange } from '../../src/bus/event-bus.ts';
import { MemoryEventBus } from '../../src/bus/event-bus.memory.ts';
import { RedisEventBus } from '../../src/bus/event-bus.redis.ts';
import { runEventBusContract } from './event-bus-contract.ts';

runEventBusContract('memory', async () => {
  const bus = new MemoryEventBus({ onHandlerError: () => {} });
  return [bus, bus];
});

const redisUrl = process.env.TEST_REDIS_URL;
if (redisUrl) {
  runEventBusContract('redis (two nodes)', async () => [
    new RedisEventBus(redisUrl, { onHandlerError: () => {} }),
    new RedisEventBus(redisUrl, { onHandlerError: () => {} }),
  ]);
}

/** Sweeps `bus` every few ms until a sweep reports a change for `userId`; fails after `timeoutMs`. */
async function sweepUntil(bus: RedisEventBus, userId: string, timeoutMs = 10_000): Promise<PresenceChange[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const changes = (await bus.sweepPresence()).filter((change) => change.userId === userId);
    if (changes.length > 0) return changes;
    if (Date.now() > deadline) throw new Error(`no presence change for ${userId} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Redis presence across nodes that die', { skip: redisUrl ? false : 'needs TEST_REDIS_URL' }, () => {
  const bus = (ttlMs: number, prefix: string) =>
    new RedisEventBus(redisUrl!, { onHandlerError: () => {}, presenceTtlMs: ttlMs, presencePrefix: prefix });

  it("forgets a node that stops sweeping after its TTL: its users go offline, once, everyone else's stay", async () => {
    const prefix = `test:presence:${randomUUID()}:`;
    const [frozen, survivor, third] = [bus(400, prefix), bus(400, prefix), bus(400, prefix)];
    try {
      const [onlyThere, alsoElsewhere, workspace] = [randomUUID(), randomUUID(), randomUUID()];
      await frozen.countConnections(onlyThere, 1, workspace);
      await frozen.countConnections(alsoElsewhere, 1, workspace);
      await survivor.countConnections(alsoElsewhere, 1, workspace);
      assert.deepEqual(await survivor.filterOnline([onlyThere, alsoElsewhere]), [onlyThere, alsoElsewhere]);
      // `frozen` never sweeps again (a kill -9 or a stalled process); `survivor` keeps sweeping.
      const changes = await sweepUntil(survivor, onlyThere);
      assert.deepEqual(changes, [{ userId: onlyThere, workspaceId: workspace, status: 'offline' }]);
      assert.deepEqual(await third.filterOnline([onlyThere, alsoElsewhere]), [alsoElsewhere]);
      const later = [...(await third.sweepPresence()), ...(await survivor.sweepPresence())];
      assert.deepEqual(later, [], 'the dead node is reported by one survivor only');
    } finally {
      await Promise.all([frozen.close(), survivor.close(), third.close()]);
    }
  });

  it('forgets a closed node at the next sweep of the others', async () => {
    const prefix = `test:presence:${randomUUID()}:`;
    const [closing, survivor] = [bus(60_000, prefix), bus(60_000, prefix)];
    try {
      const [user, workspace] = [randomUUID(), randomUUID()];
      await closing.countConnections(user, 1, workspace);
      await closing.close();
      assert.deepEqual(await survivor.filterOnline([user]), []);
      assert.deepEqual(await survivor.sweepPresence(), [{ userId: user, workspaceId: workspace, status: 'offline' }]);
    } finally {
      await survivor.close();
    }
  });

  it('counts its connections again, and announces them online, when Redis lost them (restart, or a stall past the TTL)', async () => {
    const prefix = `test:presence:${randomUUID()}:`;
    const node = bus(60_000, prefix);
    const raw = new RedisEventBus(redisUrl!, { onHandlerError: () => {}, presencePrefix: prefix });
    try {
      const [userA, userB, workspace] = [randomUUID(), randomUUID(), randomUUID()];
      await node.countConnections(userA, 1, workspace);
      await node.countConnections(userA, 1, workspace);
      await node.countConnections(userB, 1, workspace);
      const { Redis } = await import('ioredis');
      const admin = new Redis(redisUrl!);
      try {
        const keys = await admin.keys(`${prefix}*`);
        assert.ok(keys.length > 0);
        await admin.del(...keys);
      } finally {
        admin.disconnect();
      }
      assert.deepEqual(await raw.filterOnline([userA, userB]), []);
      const changes = await node.sweepPresence();
      assert.deepEqual(
        changes.map((change) => [change.userId, change.status]).sort(),
        [
          [userA, 'online'],
          [userB, 'online'],
        ].sort(),
      );
      assert.deepEqual(await raw.filterOnline([userA, userB]), [userA, userB]);
      assert.equal(await node.countConnections(userA, -1, workspace), 1, 'the restored count is the exact one');
    } finally {
      await Promise.all([node.close(), raw.close()]);
    }
  });
});
