import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BusEvent, EventBus } from '../../src/bus/event-bus.ts';

/** Collects what a subscription receives; `until(n)` resolves once `n` events have arrived. */
function collector() {
  const events: BusEvent[] = [];
  let wake: (() => void) | undefined;
  return {
    events,
    handler: (event: BusEvent) => {
      events.push(event);
      wake?.();
    },
    until(count: number, timeoutMs = 3_000): Promise<BusEvent[]> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${events.length} of ${count} events`)), timeoutMs);
        const check = () => {
          if (events.length < count) return;
          clearTimeout(timer);
          wake = undefined;
          resolve(events);
        };
        wake = check;
        check();
      });
    },
  };
}

/**
 * The behaviour every EventBus implementation promises (src/bus/event-bus.ts), as one suite:
 * call it with a name and a factory for a fresh bus (or two buses that share a backend, to check
 * delivery across nodes). Topics are random per test, so implementations with shared state are fine.
 */
export function runEventBusContract(name: string, createBuses: () => Promise<[EventBus, EventBus]>): void {
  describe(`event bus contract: ${name}`, () => {
    let publisher: EventBus;
    let subscriber: EventBus;
    const topic = () => `conversation:${randomUUID()}`;

    before(async () => {
      [publisher, subscriber] = await createBuses();
    });
    after(async () => {
      await publisher.close();
      if (subscriber !== publisher) await subscriber.close();
    });

    it('delivers a published event, as plain JSON, to every subscriber of the topic and no other', async () => {
      const [topicA, topicB] = [topic(), topic()];
      const first = collector();
      const second = collector();
      const other = collector();
      subscriber.subscribe(topicA, first.handler);
      subscriber.subscribe(topicA, second.handler);
      subscriber.subscribe(topicB, other.handler);
      await subscriber.ready();
      const event = { type: 'message', message: { id: 'm1', seq: 1, content: 'héllo', parts: [], usage: null } };
      await publisher.publish(topicA, event);
      assert.deepEqual(await first.until(1), [JSON.parse(JSON.stringify(event))]);
      assert.deepEqual(await second.until(1), [event]);
      await publisher.publish(topicB, { type: 'typing' });
      await other.until(1);
      assert.equal(first.events.length, 1);
    });

    it('keeps the order of one publisher on one topic', async () => {
      const name = topic();
      const received = collector();
      subscriber.subscribe(name, received.handler);
      await subscriber.ready();
      for (let seq = 1; seq <= 50; seq++) await publisher.publish(name, { type: 'message', seq });
      assert.deepEqual(
        (await received.until(50)).map((event) => event.seq),
        Array.from({ length: 50 }, (_, index) => index + 1),
      );
    });

    it('stops delivering after unsubscribe and keeps other subscribers', async () => {
      const name = topic();
      const kept = collector();
      const dropped = collector();
      subscriber.subscribe(name, kept.handler);
      const unsubscribe = subscriber.subscribe(name, dropped.handler);
      await subscriber.ready();
      unsubscribe();
      unsubscribe();
      await publisher.publish(name, { type: 'typing' });
      await kept.until(1);
      assert.equal(dropped.events.length, 0);
    });

    it('keeps delivering to other subscribers when one handler throws', async () => {
      const name = topic();
      const received = collector();
      subscriber.subscribe(name, () => {
        throw new Error('handler bug');
      });
      subscriber.subscribe(name, received.handler);
      await subscriber.ready();
      await publisher.publish(name, { type: 'typing' });
      await received.until(1);
    });

    it('counts connections per user across buses for presence', async () => {
      const [userA, userB, workspace] = [randomUUID(), randomUUID(), randomUUID()];
      assert.equal(await publisher.countConnections(userA, 1, workspace), 1);
      assert.equal(await subscriber.countConnections(userA, 1, workspace), 2);
      assert.deepEqual(await subscriber.filterOnline([userB, userA]), [userA]);
      assert.equal(await subscriber.countConnections(userA, -1, workspace), 1);
      assert.equal(await publisher.countConnections(userA, -1, workspace), 0);
      assert.equal(await publisher.countConnections(userA, -1, workspace), 0, 'never below 0');
      assert.deepEqual(await publisher.filterOnline([userA, userB]), []);
      assert.deepEqual(await publisher.filterOnline([]), []);
    });

    it('reports no presence change from a sweep while every node is alive', async () => {
      const [user, workspace] = [randomUUID(), randomUUID()];
      await publisher.countConnections(user, 1, workspace);
      assert.ok(publisher.presenceSweepMs > 0);
      const changes = [...(await publisher.sweepPresence()), ...(await subscriber.sweepPresence())];
      assert.deepEqual(
        changes.filter((change) => change.userId === user),
        [],
      );
      assert.deepEqual(await subscriber.filterOnline([user]), [user]);
      await publisher.countConnections(user, -1, workspace);
    });
  });
}
