import type { Message, ServerEvent } from '../client/index.ts';
import { appendAdviceDelta, hasAdviceGap, mergeLoadedAdvice, startAdvice, upsertAdvice } from './advice.ts';
import type { CatchUp } from './catch-up.ts';
import type { StoreAccess } from './store-access.ts';

/** The advice frames (only ever the signed-in person's own advice). */
type AdviceEvent = Extract<ServerEvent, { type: 'advice' | 'advice.delta' | 'advice.done' | 'advice.updated' }>;

/**
 * My private advice in the ChatStore: loading it, acting on it (send, dismiss, ask for more) and
 * applying its live frames. The held advice is `state.advice`; failures of an action become the
 * page's notice.
 */
export class AdviceActions {
  readonly #store: StoreAccess;
  readonly #catchUp: CatchUp;
  readonly #onMessage: (message: Message) => void;

  /** `onMessage` takes the message a sent suggestion became, as if it had arrived live. */
  constructor(store: StoreAccess, options: { catchUp: CatchUp; onMessage: (message: Message) => void }) {
    this.#store = store;
    this.#catchUp = options.catchUp;
    this.#onMessage = options.onMessage;
  }

  /** Loads my pending advice of a conversation (live frames keep it current afterwards). */
  async load(conversationId: string): Promise<void> {
    try {
      const { items } = await this.#store.api.listAdvice(conversationId);
      this.#store.set({ advice: mergeLoadedAdvice(this.#store.getState().advice, conversationId, items) });
    } catch {
      // Not a member any more, or offline: the conversation view says so.
    }
  }

  /** Reloads the advice of every conversation it was loaded for: advice frames are not replayed after a reconnect. */
  async reloadAll(): Promise<void> {
    await Promise.all(Object.keys(this.#store.getState().advice).map((conversationId) => this.load(conversationId)));
  }

  /** Posts a suggestion as my own message (`content` when I edited it). */
  async send(conversationId: string, adviceId: string, content?: string): Promise<void> {
    try {
      const { advice, message } = await this.#store.api.sendAdvice(conversationId, adviceId, content);
      this.#store.set({ advice: upsertAdvice(this.#store.getState().advice, advice) });
      this.#onMessage(message);
    } catch (error) {
      this.#store.fail(error);
    }
  }

  async dismiss(conversationId: string, adviceId: string): Promise<void> {
    try {
      const advice = await this.#store.api.dismissAdvice(conversationId, adviceId);
      this.#store.set({ advice: upsertAdvice(this.#store.getState().advice, advice) });
    } catch (error) {
      this.#store.fail(error);
    }
  }

  /** Asks my advice binding's agent (or `agentId`) for a suggestion now; it streams in as advice. */
  async request(conversationId: string, agentId?: string): Promise<void> {
    try {
      await this.#store.api.requestAdvice(conversationId, agentId);
    } catch (error) {
      this.#store.fail(error);
    }
  }

  /**
   * Applies an advice frame: `advice` replaces what is held (see `startAdvice`); a delta beyond the
   * content held starts a catch-up.
   */
  receive(event: AdviceEvent): void {
    if (event.type === 'advice') {
      // A suggestion starts, or starts again after its run restarted on another node.
      this.#store.set({ advice: startAdvice(this.#store.getState().advice, event.advice) });
      return;
    }
    if (event.type !== 'advice.delta') {
      this.#store.set({ advice: upsertAdvice(this.#store.getState().advice, event.advice) });
      return;
    }
    const { conversationId, adviceId } = event;
    this.#store.set({
      advice: appendAdviceDelta(this.#store.getState().advice, conversationId, adviceId, event.delta, event.offset),
    });
    if (hasAdviceGap(this.#store.getState().advice, conversationId, adviceId)) void this.#catchUpAdvice(conversationId, adviceId);
  }

  /** Like `catchUpStream` for a suggestion: reloads the conversation's advice until the gap is filled. */
  #catchUpAdvice(conversationId: string, adviceId: string): Promise<void> {
    return this.#catchUp.run(adviceId, async () => {
      if (!hasAdviceGap(this.#store.getState().advice, conversationId, adviceId)) return false;
      await this.load(conversationId);
      return true;
    });
  }
}
