import { ChorusError, type ConversationSyncer } from '../client/index.ts';
import { forgetConversation } from './chat-state.ts';
import { emptyLog, mergeMessages, type MessageLog } from './message-log.ts';
import type { StoreAccess } from './store-access.ts';

/** Messages per history page. */
const pageSize = 50;

/**
 * A conversation's history loaded over HTTP into its log: the latest page when it is first
 * opened, older pages as the reader scrolls up. The live and sync paths add the rest.
 */
export class HistoryPages {
  readonly #store: StoreAccess;
  readonly #syncer: ConversationSyncer;
  readonly #connected: () => boolean;
  /** Latest-page reads in flight, by conversation. */
  readonly #loading = new Map<string, Promise<boolean>>();

  /** `connected` tells whether the WebSocket is open (a loaded conversation then syncs at once). */
  constructor(store: StoreAccess, syncer: ConversationSyncer, connected: () => boolean) {
    this.#store = store;
    this.#syncer = syncer;
    this.#connected = connected;
  }

  /**
   * Loads the latest page of `conversationId` into its log, starts its change cursor there and
   * syncs it when connected. A call while a read is in flight (a reconnect's resync opening the
   * conversation again) shares that read. Resolves false when the read failed (shown as the
   * notice; a conversation answering not_found is forgotten).
   */
  latest(conversationId: string): Promise<boolean> {
    let loading = this.#loading.get(conversationId);
    if (!loading) {
      loading = this.#readLatest(conversationId).finally(() => this.#loading.delete(conversationId));
      this.#loading.set(conversationId, loading);
    }
    return loading;
  }

  /** Loads the page before the oldest message held, when there is one. */
  async older(conversationId: string): Promise<void> {
    const log = this.#store.getState().logs[conversationId];
    const first = log?.items[0];
    if (!log || !first || !log.hasOlder) return;
    try {
      const page = await this.#store.api.listMessages(conversationId, { beforeSeq: first.seq, limit: pageSize });
      const current = this.#store.getState().logs[conversationId] ?? emptyLog;
      this.#setLog(conversationId, { ...mergeMessages(current, page.items), hasOlder: page.hasMore });
    } catch (error) {
      this.#store.fail(error);
    }
  }

  /**
   * Loads older pages until the log reaches message `seq` (its oldest message is that one or
   * older), at most `maxPages` of them. Resolves whether the log now holds message `seq`.
   */
  async reach(conversationId: string, seq: number, maxPages = 20): Promise<boolean> {
    if (!this.#store.getState().logs[conversationId] && !(await this.latest(conversationId))) return false;
    for (let page = 0; ; page++) {
      const log = this.#store.getState().logs[conversationId];
      const first = log?.items[0];
      if (!log || !first) return false;
      if (first.seq <= seq || !log.hasOlder) return log.items.some((message) => message.seq === seq);
      if (page === maxPages) return false;
      await this.older(conversationId);
      if (this.#store.getState().logs[conversationId]?.items[0] === first) return false; // the read failed
    }
  }

  async #readLatest(conversationId: string): Promise<boolean> {
    try {
      const page = await this.#store.api.listMessages(conversationId, { limit: pageSize });
      this.#syncer.trackChanges(conversationId, Math.max(0, ...page.items.map((item) => item.updatedSeq)));
      const log = mergeMessages({ items: [], hasOlder: page.hasMore }, page.items);
      // Live messages may have arrived while the page loaded: keep them too.
      const current: MessageLog | undefined = this.#store.getState().logs[conversationId];
      this.#setLog(conversationId, current ? mergeMessages(log, current.items) : log);
      if (this.#connected()) void this.#syncer.sync(conversationId);
      return true;
    } catch (error) {
      if (ChorusError.isInstance(error) && error.code === 'not_found')
        this.#store.replace(forgetConversation(this.#store.getState(), conversationId));
      this.#store.fail(error);
      return false;
    }
  }

  #setLog(conversationId: string, log: MessageLog): void {
    const state = this.#store.getState();
    if (state.logs[conversationId] === log) return;
    this.#store.set({ logs: { ...state.logs, [conversationId]: log } });
  }
}
