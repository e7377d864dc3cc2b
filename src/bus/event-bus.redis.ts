import { Redis } from 'ioredis';
import type { BusEvent, EventBus, PresenceChange } from './event-bus.ts';
import { RedisPresence } from './presence.redis.ts';

const channelPrefix = 'chorus:';

/**
 * Delay before reconnect attempt `times` to a lost Redis: 50 ms more each time, at most 500 ms, so
 * nodes resume within half a second of Redis coming back, and a command issued meanwhile fails
 * (after `maxRetriesPerRequest` attempts) within about 1.5 s instead of waiting for it.
 */
export const reconnectDelayMs = (times: number): number => Math.min(times * 50, 500);

/**
 * Event bus over Redis pub/sub, for many nodes. Each event is serialised once on publish and parsed
 * once per node; a node subscribes to a Redis channel only while it has local handlers for the topic.
 * Delivery is at most once (pub/sub keeps nothing for nodes that are away): clients recover by seq.
 * Ordered per topic per publishing node (one publisher connection). Presence is `RedisPresence`.
 */
export class RedisEventBus implements EventBus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #handlers = new Map<string, Set<(event: BusEvent) => void>>();
  readonly #onHandlerError: (error: unknown) => void;
  readonly #presence: RedisPresence;
  readonly presenceSweepMs: number;
  #pending = new Set<Promise<unknown>>();

  /**
   * Connects to `url` (redis://…). `onHandlerError` receives what a subscriber threw.
   * `presenceTtlMs` (default 20 s): a node that stops sweeping is presumed dead after this long;
   * it sweeps every quarter of it, so a killed node's users go offline within 1.25 × TTL.
   * `presencePrefix` isolates the presence keys (tests).
   */
  constructor(
    url: string,
    options: { onHandlerError?: (error: unknown) => void; presenceTtlMs?: number; presencePrefix?: string } = {},
  ) {
    this.#onHandlerError = options.onHandlerError ?? ((error) => console.error(error));
    this.#publisher = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3, retryStrategy: reconnectDelayMs });
    const ttlMs = options.presenceTtlMs ?? 20_000;
    this.presenceSweepMs = Math.max(1, Math.floor(ttlMs / 4));
    this.#presence = new RedisPresence(this.#publisher, { ttlMs, prefix: options.presencePrefix });
    // ioredis subscribes again to every channel once it has reconnected (autoResubscribe).
    this.#subscriber = new Redis(url, { lazyConnect: false, retryStrategy: reconnectDelayMs });
    this.#subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.#dispatch(channel.toString(), payload));
    for (const connection of [this.#publisher, this.#subscriber]) {
      // One report per outage, not one per reconnect attempt.
      let reported = false;
      connection.on('error', (error: unknown) => {
        if (!reported) this.#onHandlerError(error);
        reported = true;
      });
      connection.on('ready', () => (reported = false));
    }
  }

  async publish(topic: string, event: BusEvent): Promise<void> {
    await this.#publisher.publish(channelPrefix + topic, JSON.stringify(event));
  }

  subscribe(topic: string, handler: (event: BusEvent) => void): () => void {
    let handlers = this.#handlers.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(topic, handlers);
      this.#track(this.#subscriber.subscribe(channelPrefix + topic));
    }
    handlers.add(handler);
    return () => {
      const current = this.#handlers.get(topic);
      if (!current?.delete(handler) || current.size > 0) return;
      this.#handlers.delete(topic);
      this.#track(this.#subscriber.unsubscribe(channelPrefix + topic));
    };
  }

  async ready(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Resolves when Redis answers PING on both connections; rejects otherwise. */
  async ping(): Promise<void> {
    await Promise.all([this.#publisher.ping(), this.#subscriber.ping()]);
  }

  countConnections(userId: string, delta: 1 | -1, workspaceId: string): Promise<number> {
    return this.#presence.count(userId, delta, workspaceId);
  }

  filterOnline(userIds: readonly string[]): Promise<string[]> {
    return this.#presence.filterOnline(userIds);
  }

  sweepPresence(): Promise<PresenceChange[]> {
    return this.#presence.sweep();
  }

  /** Stops delivering; the other nodes forget this node's presence counts at their next sweep. */
  async close(): Promise<void> {
    this.#handlers.clear();
    await this.#presence.leave().catch(() => {});
    await Promise.allSettled([this.#publisher.quit(), this.#subscriber.quit()]);
  }

  #track(operation: Promise<unknown>): void {
    const tracked = operation.catch(this.#onHandlerError).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  #dispatch(channel: string, payload: Buffer): void {
    const handlers = this.#handlers.get(channel.slice(channelPrefix.length));
    if (!handlers) return;
    let event: BusEvent;
    try {
      event = JSON.parse(payload.toString('utf8')) as BusEvent;
    } catch (error) {
      this.#onHandlerError(error);
      return;
    }
    for (const handler of [...handlers]) {
      try {
        handler(event);
      } catch (error) {
        this.#onHandlerError(error);
      }
    }
  }
}
