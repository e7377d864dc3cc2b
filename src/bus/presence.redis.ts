import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { PresenceChange } from './event-bus.ts';

/**
 * Presence shared by the nodes of a cluster, in Redis, surviving nodes that die without closing
 * their sockets (decision 0013). Keys (`p` = the prefix, `chorus:presence:` by default):
 * - `p alive:<node>`: exists while the node lives; set with a time-to-live, refreshed by each sweep;
 * - `p nodes`: the set of nodes that have counted connections;
 * - `p user:<user>`: hash node → that node's live connections of the user (written as absolute
 *   numbers: each node is the truth for its own sockets and keeps them in memory);
 * - `p node:<node>`: hash user → workspace, the users with connections on the node.
 * A user is online when a node whose `alive` key exists counts a connection of theirs. A sweep
 * refreshes the node's own key and removes, atomically (one script per dead node, claimed by
 * `SREM` so only one survivor reports it), the counts of nodes whose key expired. The scripts read
 * keys they are not passed, so this needs a single Redis (or one cluster slot), not Redis Cluster.
 */
export class RedisPresence {
  readonly nodeId = randomUUID();
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  /** This node's own truth: user → {count, workspaceId}; re-registered when Redis lost it. */
  readonly #local = new Map<string, { count: number; workspaceId: string }>();
  /** Users brought back online by a restore that a `count` call made, reported by the next sweep. */
  readonly #revived: PresenceChange[] = [];

  constructor(redis: Redis, options: { ttlMs: number; prefix?: string }) {
    this.#redis = redis;
    this.#ttlMs = options.ttlMs;
    this.#prefix = options.prefix ?? 'chorus:presence:';
    redis.defineCommand('chorusPresenceCount', { numberOfKeys: 3, lua: countScript });
    redis.defineCommand('chorusPresenceOnline', { lua: onlineScript });
    redis.defineCommand('chorusPresenceReap', { numberOfKeys: 3, lua: reapScript });
    redis.defineCommand('chorusPresenceRestore', { lua: restoreScript });
  }

  /** Adds `delta` to this node's count of the user and resolves to their count on all live nodes. */
  async count(userId: string, delta: 1 | -1, workspaceId: string): Promise<number> {
    const local = this.#local.get(userId) ?? { count: 0, workspaceId };
    local.count = Math.max(0, local.count + delta);
    if (local.count === 0) this.#local.delete(userId);
    else this.#local.set(userId, local);
    const write = () =>
      this.#commands().chorusPresenceCount(
        this.#key(`user:${userId}`),
        this.#key(`node:${this.nodeId}`),
        this.#key(`alive:${this.nodeId}`),
        this.nodeId,
        local.count,
        userId,
        workspaceId,
        this.#key('alive:'),
      );
    let total = Number(await write());
    if (total === -1) {
      // Not registered (first connection, expired after a stall, or Redis restarted empty).
      this.#revived.push(...(await this.#restore()).filter((change) => change.userId !== userId));
      total = Number(await write());
    }
    return Math.max(0, total);
  }

  /** The subset of `userIds` counted by a live node, in input order. */
  async filterOnline(userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const flags = (await this.#commands().chorusPresenceOnline(
      userIds.length,
      ...userIds.map((userId) => this.#key(`user:${userId}`)),
      this.#key('alive:'),
    )) as number[];
    return userIds.filter((_, index) => flags[index] === 1);
  }

  /** Refreshes this node's liveness, restores its counts if Redis lost them, and reaps dead nodes. */
  async sweep(): Promise<PresenceChange[]> {
    const changes = this.#revived.splice(0);
    const refreshed = await this.#redis.set(this.#key(`alive:${this.nodeId}`), '1', 'PX', this.#ttlMs, 'XX');
    // The key had expired (this node stalled past its TTL and may have been reaped) or Redis
    // restarted empty: count this node's connections again and announce who came back.
    if (refreshed === null && this.#local.size > 0) changes.push(...(await this.#restore()));
    for (const nodeId of await this.#redis.smembers(this.#key('nodes'))) {
      if (nodeId === this.nodeId || (await this.#redis.exists(this.#key(`alive:${nodeId}`))) === 1) continue;
      const offline = (await this.#commands().chorusPresenceReap(
        this.#key('nodes'),
        this.#key(`node:${nodeId}`),
        this.#key(`alive:${nodeId}`),
        nodeId,
        this.#key('user:'),
        this.#key('alive:'),
      )) as string[];
      for (let index = 0; index < offline.length; index += 2) {
        changes.push({ userId: offline[index], workspaceId: offline[index + 1], status: 'offline' });
      }
    }
    return changes;
  }

  /** Registers this node (alive key, nodes set) with all its counts; resolves to the users it brought back online. */
  async #restore(): Promise<PresenceChange[]> {
    const entries = [...this.#local];
    const revived = (await this.#commands().chorusPresenceRestore(
      entries.length + 3,
      ...entries.map(([userId]) => this.#key(`user:${userId}`)),
      this.#key(`node:${this.nodeId}`),
      this.#key('nodes'),
      this.#key(`alive:${this.nodeId}`),
      this.nodeId,
      this.#ttlMs,
      this.#key('alive:'),
      ...entries.flatMap(([userId, { count, workspaceId }]) => [userId, count, workspaceId]),
    )) as number[];
    return entries.flatMap(([userId, { workspaceId }], index) =>
      revived[index] === 1 ? [{ userId, workspaceId, status: 'online' as const }] : [],
    );
  }

  /** Drops this node's liveness so the survivors reap what it still counts at their next sweep. */
  async leave(): Promise<void> {
    await this.#redis.del(this.#key(`alive:${this.nodeId}`));
  }

  #key(suffix: string): string {
    return this.#prefix + suffix;
  }

  #commands(): PresenceCommands {
    return this.#redis as unknown as PresenceCommands;
  }
}

type Command = (...args: Array<string | number>) => Promise<unknown>;
interface PresenceCommands {
  chorusPresenceCount: Command;
  chorusPresenceOnline: Command;
  chorusPresenceReap: Command;
  chorusPresenceRestore: Command;
}

/** Sum of a user hash's counts over nodes whose alive key exists (dead fields are left to the reaper). */
const liveSum = `
local function liveSum(userKey, alivePrefix)
  local fields = redis.call('HGETALL', userKey)
  local total = 0
  for i = 1, #fields, 2 do
    if redis.call('EXISTS', alivePrefix .. fields[i]) == 1 then total = total + tonumber(fields[i + 1]) end
  end
  return total
end
`;

/**
 * KEYS: user hash, node hash, own alive key. ARGV: node, this node's count of the user (absolute:
 * the node is the truth for its own sockets), user, workspace, alive prefix. Returns the user's
 * live total, or -1 when this node is not registered (its alive key is missing).
 */
const countScript = `${liveSum}
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
if tonumber(ARGV[2]) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
end
return liveSum(KEYS[1], ARGV[5])
`;

/** KEYS: user hashes. ARGV: alive prefix. Returns 1/0 per user. */
const onlineScript = `${liveSum}
local flags = {}
for i = 1, #KEYS do flags[i] = liveSum(KEYS[i], ARGV[1]) > 0 and 1 or 0 end
return flags
`;

/**
 * KEYS: nodes set, the dead node's hash, its alive key. ARGV: dead node, user-key prefix, alive
 * prefix. Unless the node came back meanwhile, claims it (SREM: one reaper wins), removes its
 * counts and returns [user, workspace, …] of the users it leaves with no live connection.
 */
const reapScript = `${liveSum}
if redis.call('EXISTS', KEYS[3]) == 1 then return {} end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return {} end
local users = redis.call('HGETALL', KEYS[2])
local offline = {}
for i = 1, #users, 2 do
  local userKey = ARGV[2] .. users[i]
  redis.call('HDEL', userKey, ARGV[1])
  if liveSum(userKey, ARGV[3]) == 0 then
    table.insert(offline, users[i])
    table.insert(offline, users[i + 1])
  end
end
redis.call('DEL', KEYS[2])
return offline
`;

/**
 * KEYS: the user hashes of this node's users, then its node hash, the nodes set, its alive key.
 * ARGV: node, ttl, alive prefix, then user, count, workspace per user. Sets this node's counts
 * back and returns 1 per user who had no live connection before (to announce online again).
 */
const restoreScript = `${liveSum}
local users = #KEYS - 3
local nodeKey, nodesKey, aliveKey = KEYS[users + 1], KEYS[users + 2], KEYS[users + 3]
local revived = {}
for i = 1, users do revived[i] = liveSum(KEYS[i], ARGV[3]) == 0 and 1 or 0 end
redis.call('SET', aliveKey, '1', 'PX', ARGV[2])
redis.call('SADD', nodesKey, ARGV[1])
for i = 1, users do
  local base = 3 + (i - 1) * 3
  redis.call('HSET', KEYS[i], ARGV[1], ARGV[base + 2])
  redis.call('HSET', nodeKey, ARGV[base + 1], ARGV[base + 3])
end
return revived
`;
