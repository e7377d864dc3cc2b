import { receiveFinal } from './chat-state.ts';
import { hasDeltaGap } from './message-log.ts';
import type { StoreAccess } from './store-access.ts';

/** A reply whose deltas outran its loaded content is loaded again this often, at most this many times. */
const catchUpIntervalMs = 400;
const catchUpAttempts = 25;

/**
 * Bounded reload loops that fill a delta gap (a streaming reply or suggestion whose live deltas
 * start beyond the content held): one loop per id at a time.
 */
export class CatchUp {
  /** Ids (message or advice) whose loop is running. */
  #running = new Set<string>();

  /**
   * Runs `step` every 400 ms, at most 25 times, until it returns false; a later call for an `id`
   * whose loop runs does nothing.
   */
  async run(id: string, step: () => Promise<boolean>): Promise<void> {
    if (this.#running.has(id)) return;
    this.#running.add(id);
    try {
      for (let attempt = 0; attempt < catchUpAttempts; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, catchUpIntervalMs));
        if (!(await step())) return;
      }
    } finally {
      this.#running.delete(id);
    }
  }
}

/**
 * Deltas of a streaming reply start beyond the content held (we joined or reconnected between two
 * saves of its partial content): load the message again until its saved content reaches them
 * (saved at least every second), then `mergeMessages` applies the waiting deltas. Bounded.
 */
export function catchUpStream(store: StoreAccess, catchUp: CatchUp, conversationId: string, messageId: string): Promise<void> {
  return catchUp.run(messageId, async () => {
    const log = store.getState().logs[conversationId];
    const held = log?.items.find((message) => message.id === messageId);
    if (!held || held.status !== 'streaming' || !hasDeltaGap(log, messageId)) return false;
    const page = await store.api.listMessages(conversationId, { afterSeq: held.seq - 1, limit: 1 }).catch(() => undefined);
    const loaded = page?.items.find((message) => message.id === messageId);
    if (loaded) store.replace(receiveFinal(store.getState(), loaded));
    return true;
  });
}
