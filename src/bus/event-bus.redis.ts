import { Redis } from 'ioredis';
import type { BusEvent, EventBus } from './event-bus.ts';

const channelPrefix = 'chorus:';
/** Hash of user id → live WebSocket connections on all nodes (presence). */
const presenceKey = 'chorus:presence:connections';

/**
 * Event bus over Redis pub/sub, for many nodes. Each event is serialised once on publish and parsed
 * once per node; a node subscribes to a Redis channel only while it has local handlers for the topic.
 * Delivery is at most once (pub/sub keeps nothing for nodes that are away): clients recover by seq.
 * Ordered per topic per publishing node (one publisher connection).
 */
export class RedisEventBus implements EventBus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #handlers = new Map<string, Set<(event: BusEvent) => void>>();
  readonly #onHandlerError: (error: unknown) => void;
  #pending = new Set<Promise<unknown>>();

  /** Connects to `url` (redis://…). `onHandlerError` receives what a subscriber threw. */
  constructor(url: string, options: { onHandlerError?: (error: unknown) => void } = {}) {
    this.#onHandlerError = options.onHandlerError ?? ((error) => console.error(error));
    this.#publisher = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
    this.#subscriber = new Redis(url, { lazyConnect: false });
    this.#subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.#dispatch(channel.toString(), payload));
    for (const connection of [this.#publisher, this.#subscriber]) connection.on('error', this.#onHandlerError);
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

  async countConnections(userId: string, delta: 1 | -1): Promise<number> {
    // One hash field per user. A node that dies without closing its sockets leaves its counts behind.
    return Math.max(0, await this.#publisher.hincrby(presenceKey, userId, delta));
  }

  async filterOnline(userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const counts = await this.#publisher.hmget(presenceKey, ...userIds);
    return userIds.filter((_, index) => Number(counts[index] ?? 0) > 0);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
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
