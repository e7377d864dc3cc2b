import type { ChorusApi } from '../client/index.ts';
import type { ChatState } from './chat-state.ts';

/**
 * What the parts of the ChatStore (advice actions, typing, catch-up loops) are given to read and change
 * the one store's state: every change goes through `replace` / `set`, so subscribers are told once
 * per change, as if the store had made it itself.
 */
export interface StoreAccess {
  readonly api: ChorusApi;
  /** The current state (a new object after every change). */
  getState(): ChatState;
  /** Swaps in `state`; nothing happens (no notification) when it is the current object. */
  replace(state: ChatState): void;
  /** Shallow-merges `patch` into the state. */
  set(patch: Partial<ChatState>): void;
  /** Shows `error`'s message as the page's notice. */
  fail(error: unknown): void;
}
