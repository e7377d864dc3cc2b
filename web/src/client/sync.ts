import { ChorusError } from './errors.ts';
import type { RealtimeClient } from './realtime-client.ts';

/**
 * Replays a conversation's messages after `afterSeq` over the WebSocket, page by page: the server
 * sends them as `message` frames (to the client's onEvent listeners, in seq order) before each
 * page's ack. With `updatedAfter` (a change cursor, see docs/protocol.md) it also replays, as
 * `message.updated` frames, the changes (edits, deletes, reactions, thread counts) made after that
 * cursor to messages up to `afterSeq`. Resolves with the last seq replayed (`afterSeq` when nothing
 * was missing) and, with `updatedAfter`, the next change cursor. Rejects with ChorusError
 * `closed`/`timeout` when the connection drops: sync again after the next open.
 */
export async function syncConversation(
  realtime: RealtimeClient,
  conversationId: string,
  afterSeq: number,
  options: { pageSize?: number; updatedAfter?: number } = {},
): Promise<{ lastSeq: number; lastUpdatedSeq?: number }> {
  let position = afterSeq;
  let changes = options.updatedAfter;
  for (;;) {
    const ack = await realtime.request({
      type: 'sync',
      conversationId,
      afterSeq: position,
      limit: options.pageSize ?? 200,
      ...(changes === undefined ? {} : { updatedAfter: changes }),
    });
    const lastSeq = typeof ack.lastSeq === 'number' ? ack.lastSeq : position;
    const lastUpdatedSeq = typeof ack.lastUpdatedSeq === 'number' ? ack.lastUpdatedSeq : changes;
    const advanced = lastSeq > position || (lastUpdatedSeq ?? 0) > (changes ?? 0);
    position = Math.max(position, lastSeq);
    changes = lastUpdatedSeq;
    if ((ack.hasMore !== true && ack.updatesHaveMore !== true) || !advanced)
      return { lastSeq: position, lastUpdatedSeq: changes };
  }
}

/** `wss://host/api/v1/ws` for an `https://host` origin, `ws://…` for `http://…`. */
export function realtimeUrl(origin: string): string {
  return `${origin.replace(/^http/, 'ws')}/api/v1/ws`;
}

/**
 * Keeps conversations caught up over one RealtimeClient. The server allows one `sync` per
 * conversation at a time (a second is `conflict`), so a request while one runs is folded into a
 * second pass after it. `positionOf` gives where to resume (the last contiguous seq held), or
 * undefined for a conversation no longer shown; `onGone` hears of a conversation that answered
 * not_found (left or deleted). A dropped connection ends the pass: sync again after the next open.
 * Once `trackChanges` gave a conversation a change cursor, each pass also catches up the edits,
 * deletes and reactions made while away, and moves that cursor.
 */
export class ConversationSyncer {
  readonly #realtime: RealtimeClient;
  readonly #positionOf: (conversationId: string) => number | undefined;
  readonly #onGone: (conversationId: string) => void;
  readonly #running = new Map<string, { again: boolean; done: Promise<void> }>();
  readonly #changeCursors = new Map<string, number>();

  constructor(options: {
    realtime: RealtimeClient;
    positionOf: (conversationId: string) => number | undefined;
    onGone: (conversationId: string) => void;
  }) {
    this.#realtime = options.realtime;
    this.#positionOf = options.positionOf;
    this.#onGone = options.onGone;
  }

  /**
   * Moves the change cursor of `conversationId` to `updatedAfter`, the highest `updatedSeq` among
   * the messages of a history page just loaded over HTTP and merged (that page reflects every
   * change up to it), unless a sync already took it further: it never moves back.
   */
  trackChanges(conversationId: string, updatedAfter: number): void {
    this.#changeCursors.set(conversationId, Math.max(updatedAfter, this.#changeCursors.get(conversationId) ?? 0));
  }

  /** Resolves when `conversationId` has been replayed up to the present (or the pass was cut short). */
  sync(conversationId: string): Promise<void> {
    const running = this.#running.get(conversationId);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = this.#run(conversationId, entry).finally(() => this.#running.delete(conversationId));
    this.#running.set(conversationId, entry);
    return entry.done;
  }

  async #run(conversationId: string, entry: { again: boolean }): Promise<void> {
    do {
      entry.again = false;
      const position = this.#positionOf(conversationId);
      if (position === undefined || this.#realtime.status !== 'open') return;
      try {
        const updatedAfter = this.#changeCursors.get(conversationId);
        const { lastUpdatedSeq } = await syncConversation(this.#realtime, conversationId, position, { updatedAfter });
        if (lastUpdatedSeq !== undefined) this.#changeCursors.set(conversationId, lastUpdatedSeq);
      } catch (error) {
        if (ChorusError.isInstance(error) && error.code === 'not_found') this.#onGone(conversationId);
        return;
      }
    } while (entry.again);
  }
}
