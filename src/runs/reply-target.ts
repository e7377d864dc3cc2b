import type { MessageUsage } from '../messages/message-shape.ts';
import type { RunStep } from './run-store.ts';

/** A reply's final state, as a run ends it. */
export interface ReplyFinal {
  content: string;
  status: 'complete' | 'failed' | 'cancelled' | 'interrupted';
  error: string | null;
  usage: MessageUsage | null;
}

/**
 * Where a run writes its reply when it is not a conversation message (the default, with no target
 * on the job): e.g. a private advice row streamed on its owner's `user:` topic (src/bindings).
 * The run calls `open` once, then `publishDelta` / `savePartial` while streaming, then `finish`
 * once; `publishStep` carries its `run.step` events. Each method may throw; the run treats it as it
 * treats a failed message write.
 */
export interface ReplyTarget {
  /** Creates the reply: `streaming`, or `cancelled` for a run cancelled while queued. Returns its id. */
  open(status: 'streaming' | 'cancelled'): Promise<{ id: string }>;
  /** Text appended to the reply (already coalesced). */
  publishDelta(replyId: string, delta: string): Promise<void>;
  /** Saves the content so far (periodically, at most one call in flight). */
  savePartial(replyId: string, content: string): Promise<void>;
  /** Stores the final state (once) and publishes it. */
  finish(replyId: string, final: ReplyFinal): Promise<void>;
  /** Publishes a `run.step` of the run. */
  publishStep(runId: string, step: RunStep): Promise<void>;
}

/**
 * Whose side a run writes from (bindings): `userId`'s own messages, and messages written on their
 * behalf, become the model's `assistant` turns; everyone else's are `user` turns prefixed with their
 * handle. `system` replaces the agent's system prompt; `closingTurn`, when set, is appended as a
 * last `user` turn (asks the model for the next message).
 */
export interface ReplyPerspective {
  userId: string;
  system: string;
  closingTurn?: string;
}
