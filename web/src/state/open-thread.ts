import { useSyncExternalStore } from 'react';

/** Which thread (root message id) the thread panel shows; null when closed. Page-wide, one at a time. */
let openRootId: string | null = null;
const listeners = new Set<() => void>();

/** Opens the thread of `rootId` beside the conversation, or closes the panel with null. */
export function openThread(rootId: string | null): void {
  openRootId = rootId;
  for (const listener of listeners) listener();
}

/** The open thread's root id, re-rendering when it changes. */
export function useOpenThread(): string | null {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => openRootId,
  );
}
