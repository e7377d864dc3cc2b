import type { Db } from '../db/database.ts';
import { presenceTopic, type EventBus } from '../bus/event-bus.ts';
import { listCoMembers, listConversationIds } from './memberships.ts';

/** Online/offline as shown to clients in `presence {userId, status}`. */
type PresenceStatus = 'online' | 'offline';

/**
 * Counts one more live connection of the user (on any node). On the first one, publishes
 * `online` to everyone who shares one of `conversationIds` with the user (every tab and device
 * of theirs included). Resolves to the user's connection count.
 */
export async function countConnectionOpened(
  bus: EventBus,
  workspaceId: string,
  userId: string,
  conversationIds: readonly string[],
): Promise<number> {
  const count = await bus.countConnections(userId, 1, workspaceId);
  if (count === 1) await publishPresence(bus, workspaceId, userId, 'online', conversationIds);
  return count;
}

/** The counterpart of `countConnectionOpened`: publishes `offline` when the user's last connection ends. */
export async function countConnectionClosed(
  bus: EventBus,
  workspaceId: string,
  userId: string,
  conversationIds: readonly string[],
): Promise<number> {
  const count = await bus.countConnections(userId, -1, workspaceId);
  if (count === 0) await publishPresence(bus, workspaceId, userId, 'offline', conversationIds);
  return count;
}

/**
 * The snapshot a connection gets once live: the users sharing a conversation with it who are online
 * now. One read (the store's co-members, then the bus's online filter) serves every connection of
 * the same user and conversations that asks while it runs, provided it started after that
 * connection began receiving presence changes (`mark()` then, `list(…, mark)` later): what it
 * misses, the connection gets live. A burst of one user's tabs then reads once, not once per tab.
 */
export class OnlineCoMembers {
  readonly #db: Db;
  readonly #bus: EventBus;
  readonly #inFlight = new Map<string, { startedAt: number; key: string; result: Promise<string[]> }>();
  #clock = 0;

  constructor(db: Db, bus: EventBus) {
    this.#db = db;
    this.#bus = bus;
  }

  /** A point in time for `list`'s `since`: call it once the caller receives presence changes. */
  mark(): number {
    return ++this.#clock;
  }

  /** The online co-members of `userId` in `conversationIds`, read at or after `since` (a `mark()`). Throws what the store or bus throws. */
  list(userId: string, conversationIds: readonly string[], since: number): Promise<string[]> {
    const key = [...conversationIds].sort().join(',');
    const running = this.#inFlight.get(userId);
    if (running && running.startedAt >= since && running.key === key) return running.result;
    const entry = { startedAt: this.mark(), key, result: this.#read(userId, conversationIds) };
    this.#inFlight.set(userId, entry);
    const forget = () => {
      if (this.#inFlight.get(userId) === entry) this.#inFlight.delete(userId);
    };
    entry.result.then(forget, forget);
    return entry.result;
  }

  async #read(userId: string, conversationIds: readonly string[]): Promise<string[]> {
    const coMembers = await listCoMembers(this.#db, userId, conversationIds);
    return coMembers.length === 0 ? [] : this.#bus.filterOnline(coMembers);
  }
}

/**
 * Runs `bus.sweepPresence()` every `bus.presenceSweepMs` and announces what it reports: users of a
 * node that died are published `offline` (and users of this node that Redis had lost, `online`
 * again) to everyone sharing a conversation with them. Returns the stop function.
 */
export function startPresenceSweeper(db: Db, bus: EventBus, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    for (const change of await bus.sweepPresence()) {
      const conversationIds = await listConversationIds(db, change.workspaceId, change.userId);
      await publishPresence(bus, change.workspaceId, change.userId, change.status, conversationIds);
    }
  };
  const timer = setInterval(() => {
    running ??= sweep()
      .catch(onError)
      .finally(() => (running = undefined));
  }, bus.presenceSweepMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

function publishPresence(
  bus: EventBus,
  workspaceId: string,
  userId: string,
  status: PresenceStatus,
  conversationIds: readonly string[],
): Promise<void> {
  return bus.publish(presenceTopic(workspaceId), { type: 'presence', userId, status, conversationIds: [...conversationIds] });
}
