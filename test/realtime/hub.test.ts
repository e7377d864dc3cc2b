import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Db } from '../../src/db/database.ts';
import { conversationTopic, presenceTopic, userTopic } from '../../src/bus/event-bus.ts';
import { MemoryEventBus } from '../../src/bus/event-bus.memory.ts';
import { Hub, type HubMember } from '../../src/realtime/hub.ts';
import type { OutboundEvent } from '../../src/realtime/outbound-event.ts';

/** A hub over a memory bus whose subscribe calls are counted; the store is unreachable (bases unknown). */
function setup() {
  const bus = new MemoryEventBus();
  const subscriptions: string[] = [];
  const subscribe = bus.subscribe.bind(bus);
  bus.subscribe = (topic, handler) => {
    subscriptions.push(topic);
    return subscribe(topic, handler);
  };
  const unreachable = new Proxy(
    {},
    {
      get: () => () => {
        throw new Error('no store in this test');
      },
    },
  ) as unknown as Db;
  const hub = new Hub({ bus, db: unreachable, logger: pino({ level: 'silent' }), reorderHoldMs: 10 });
  return { bus, hub, subscriptions };
}

function member(userId: string): HubMember & { events: OutboundEvent[]; userEvents: OutboundEvent[] } {
  const events: OutboundEvent[] = [];
  const userEvents: OutboundEvent[] = [];
  return {
    userId,
    workspaceId: 'w',
    events,
    userEvents,
    receive: (event) => events.push(event),
    receiveUserEvent: (event) => userEvents.push(event),
  };
}

describe('hub', () => {
  it('subscribes once per topic per node and hands every follower the same serialised event', async () => {
    const { bus, hub, subscriptions } = setup();
    const members = [member('u1'), member('u1'), member('u2')];
    for (const each of members) {
      hub.addMember(each);
      await hub.follow(each, ['c1']);
    }
    assert.deepEqual(
      subscriptions.sort(),
      [conversationTopic('c1'), presenceTopic('w'), userTopic('u1'), userTopic('u2')].sort(),
    );
    await bus.publish(conversationTopic('c1'), { type: 'message', message: { conversationId: 'c1', seq: 1 } });
    await bus.publish(conversationTopic('c1'), { type: 'member.secret' });
    for (const each of members) assert.equal(each.events.length, 1, 'internal types are not forwarded');
    assert.ok(
      members.every((each) => each.events[0] === members[0].events[0]),
      'one OutboundEvent (one JSON) for all',
    );
    assert.equal(members[0].events[0].json, JSON.stringify({ type: 'message', message: { conversationId: 'c1', seq: 1 } }));
  });

  it('shows a presence change once to each follower of any of the listed conversations', async () => {
    const { bus, hub } = setup();
    const inBoth = member('u1');
    const inOne = member('u2');
    const elsewhere = member('u3');
    for (const [each, ids] of [
      [inBoth, ['c1', 'c2']],
      [inOne, ['c2']],
      [elsewhere, ['c3']],
    ] as const) {
      hub.addMember(each);
      await hub.follow(each, ids);
    }
    await bus.publish(presenceTopic('w'), { type: 'presence', userId: 'u9', status: 'online', conversationIds: ['c1', 'c2'] });
    assert.deepEqual(
      inBoth.events.map((event) => event.frame),
      [{ type: 'presence', userId: 'u9', status: 'online' }],
    );
    assert.equal(inOne.events.length, 1);
    assert.equal(elsewhere.events.length, 0);
  });

  it('unsubscribes a topic when its last local follower leaves', async () => {
    const { bus, hub } = setup();
    const first = member('u1');
    const second = member('u2');
    for (const each of [first, second]) {
      hub.addMember(each);
      await hub.follow(each, ['c1']);
    }
    hub.removeMember(first, ['c1']);
    assert.equal(hub.conversationCount, 1);
    hub.unfollow(second, 'c1');
    assert.equal(hub.conversationCount, 0);
    await bus.publish(conversationTopic('c1'), { type: 'typing', conversationId: 'c1', userId: 'u1' });
    assert.equal(second.events.length, 0);
    await bus.publish(userTopic('u2'), { type: 'advice', conversationId: 'c1' });
    assert.equal(second.userEvents.length, 1, 'the user topic stays until removeMember');
  });
});
