import type { RealtimeClient } from '../client/index.ts';
import { withoutTyping, withTyping } from './chat-state.ts';
import type { StoreAccess } from './store-access.ts';

/** How long "… is typing" shows after the last `typing` frame. */
const typingShownMs = 6000;
/** At most one `typing` frame of mine per conversation this often. */
const typingThrottleMs = 3000;

/**
 * "Who is typing" in the ChatStore: sends my `typing` frames (throttled) and shows the others'
 * for a few seconds after each of theirs (`state.typing`).
 */
export class Typing {
  readonly #store: StoreAccess;
  readonly #realtime: RealtimeClient;
  /** The timer that hides `conversationId:userId`. */
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** When I last told a conversation I was typing (epoch ms). */
  readonly #sentAt = new Map<string, number>();

  constructor(store: StoreAccess, realtime: RealtimeClient) {
    this.#store = store;
    this.#realtime = realtime;
  }

  /** Tells the others I am typing, at most once per few seconds per conversation; dropped when offline. */
  send(conversationId: string): void {
    const now = Date.now();
    if (now - (this.#sentAt.get(conversationId) ?? 0) < typingThrottleMs) return;
    if (this.#realtime.notify({ type: 'typing', conversationId })) this.#sentAt.set(conversationId, now);
  }

  /** A `typing` frame: shows `userId` typing (never me) until 6 s pass without another. */
  receive(conversationId: string, userId: string, myId: string | undefined): void {
    if (userId === myId) return;
    this.forget(conversationId, userId);
    const timer = setTimeout(() => {
      this.#timers.delete(`${conversationId}:${userId}`);
      this.#store.replace(withoutTyping(this.#store.getState(), conversationId, userId));
    }, typingShownMs);
    this.#timers.set(`${conversationId}:${userId}`, timer);
    this.#store.replace(withTyping(this.#store.getState(), conversationId, userId));
  }

  /** Drops the hide timer of `userId` (their message arrived; the state drops them with it). */
  forget(conversationId: string, userId: string): void {
    clearTimeout(this.#timers.get(`${conversationId}:${userId}`));
    this.#timers.delete(`${conversationId}:${userId}`);
  }
}
