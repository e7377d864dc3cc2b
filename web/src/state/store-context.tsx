import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ChatState } from './chat-state.ts';
import type { ChatStore } from './chat-store.ts';

const StoreContext = createContext<ChatStore | null>(null);

/** Makes a ChatStore available to `useStore` and `useChat` below it. */
export const StoreProvider = StoreContext.Provider;

/** The ChatStore of the page; throws outside <StoreProvider>. */
export function useStore(): ChatStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore needs a <StoreProvider>');
  return store;
}

/** A slice of the chat state; the component re-renders when the slice changes (by reference). */
export function useChat<T>(select: (state: ChatState) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}
