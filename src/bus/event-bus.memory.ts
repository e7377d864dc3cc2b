import type { BusEvent, EventBus, PresenceChange } from './event-bus.ts';

/**
 * In-process event bus: synchronous delivery to subscribers in subscription order.
 * A handler that throws does not stop delivery to the others.
 */
export class MemoryEventBus implements EventBus {
  readonly #handlers = new Map<string, Set<(event: BusEvent) => void>>();
  readonly #onHandlerError: (error: unknown) => void;
  readonly #connections = new Map<string, number>();
  readonly presenceSweepMs = 60_000;

  /** `onHandlerError` receives what a subscriber threw (default: printed to stderr). */
  constructor(options: { onHandlerError?: (error: unknown) => void } = {}) {
    this.#onHandlerError = options.onHandlerError ?? ((error) => console.error(error));
  }

  async publish(topic: string, event: BusEvent): Promise<void> {
    const handlers = this.#handlers.get(topic);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      try {
        handler(event);
      } catch (error) {
        this.#onHandlerError(error);
      }
    }
  }

  subscribe(topic: string, handler: (event: BusEvent) => void): () => void {
    let handlers = this.#handlers.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(topic, handlers);
    }
    handlers.add(handler);
    return () => {
      const current = this.#handlers.get(topic);
      if (!current) return;
      current.delete(handler);
      if (current.size === 0) this.#handlers.delete(topic);
    };
  }

  async ready(): Promise<void> {}

  async countConnections(userId: string, delta: 1 | -1, _workspaceId: string): Promise<number> {
    const count = Math.max(0, (this.#connections.get(userId) ?? 0) + delta);
    if (count === 0) this.#connections.delete(userId);
    else this.#connections.set(userId, count);
    return count;
  }

  async filterOnline(userIds: readonly string[]): Promise<string[]> {
    return userIds.filter((userId) => this.#connections.has(userId));
  }

  /** One process: its connections live and die with it, so nothing is ever orphaned. */
  async sweepPresence(): Promise<PresenceChange[]> {
    return [];
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    this.#connections.clear();
  }
}
