import { ChorusError } from './errors.ts';
import type { Message } from './types.ts';

/** A message written by this client and not yet acknowledged by the server. */
export interface OutgoingMessage {
  conversationId: string;
  /** Chosen once, kept across retries: the server stores a repeated clientMsgId only once. */
  clientMsgId: string;
  content: string;
  threadRootId?: string;
  queuedAt: string;
  /** Set when the server refused it for good (e.g. too long); the UI offers to discard it. */
  error?: string;
}

/**
 * Messages waiting to be sent, in the order written, kept in `storage` (when given) so a reload
 * while offline loses nothing. `flush` sends them one at a time, in order; a transport failure
 * (`closed`, `timeout`, `network`) stops the flush and keeps the rest for the next one, a refusal
 * marks that message failed and moves on. Because each keeps its clientMsgId, sending one twice
 * (acked but the ack lost) still stores it once.
 */
export class Outbox {
  readonly #storage: Storage | undefined;
  readonly #key: string;
  #items: OutgoingMessage[];
  #flushing: Promise<void> | null = null;
  #again = false;
  #listeners = new Set<() => void>();

  constructor(options: { storage?: Storage; key?: string } = {}) {
    this.#storage = options.storage;
    this.#key = options.key ?? 'chorus.outbox';
    this.#items = this.#load();
  }

  /** Queued messages, oldest first; of one conversation when `conversationId` is given. */
  list(conversationId?: string): OutgoingMessage[] {
    return conversationId ? this.#items.filter((item) => item.conversationId === conversationId) : this.#items;
  }

  /** Called after every change to the queue. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  add(item: OutgoingMessage): void {
    this.#items = [...this.#items, item];
    this.#changed();
  }

  /** Forgets a message: acknowledged, seen stored, or discarded by the user. */
  remove(clientMsgId: string): void {
    if (!this.#items.some((item) => item.clientMsgId === clientMsgId)) return;
    this.#items = this.#items.filter((item) => item.clientMsgId !== clientMsgId);
    this.#changed();
  }

  clear(): void {
    this.#items = [];
    this.#changed();
  }

  /** Sends queued messages in order with `send`; concurrent calls share one pass (and run once more after it). */
  flush(send: (item: OutgoingMessage) => Promise<Message>, onSent: (message: Message) => void): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      do {
        this.#again = false;
        for (const item of this.#items.filter((candidate) => !candidate.error)) {
          try {
            const message = await send(item);
            this.remove(item.clientMsgId);
            onSent(message);
          } catch (error) {
            if (!(error instanceof ChorusError) || error.isRetryable) return;
            this.#items = this.#items.map((candidate) =>
              candidate.clientMsgId === item.clientMsgId ? { ...candidate, error: error.message } : candidate,
            );
            this.#changed();
          }
        }
      } while (this.#again);
    })().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  #changed(): void {
    try {
      this.#storage?.setItem(this.#key, JSON.stringify(this.#items));
    } catch {
      // storage full or disabled: the queue still lives in memory
    }
    for (const listener of this.#listeners) listener();
  }

  #load(): OutgoingMessage[] {
    try {
      const value = JSON.parse(this.#storage?.getItem(this.#key) ?? '[]') as unknown;
      return Array.isArray(value) ? (value as OutgoingMessage[]) : [];
    } catch {
      return [];
    }
  }
}
