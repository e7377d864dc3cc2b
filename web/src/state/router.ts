import { useSyncExternalStore } from 'react';

/** The page's routes: `/` (inbox), `/c/<conversationId>` and a message in it, `/c/<conversationId>/m/<seq>`. */
export interface Route {
  conversationId: string | null;
  /** The seq of the message to show (a search result or a shared link), else null. */
  messageSeq: number | null;
}

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

/** Goes to `path` with history.pushState (back button returns). */
export function navigate(path: string): void {
  if (window.location.pathname === path) return;
  window.history.pushState(null, '', path);
  for (const listener of listeners) listener();
}

/** The page path of a conversation: `/c/<id>`. */
export function conversationPath(conversationId: string): string {
  return `/c/${encodeURIComponent(conversationId)}`;
}

/** The page path of one message of a conversation: `/c/<id>/m/<seq>`. */
export function messagePath(conversationId: string, seq: number): string {
  return `${conversationPath(conversationId)}/m/${seq}`;
}

/** The current route, re-rendering on navigation. */
export function useRoute(): Route {
  const pathname = useSyncExternalStore(subscribe, () => window.location.pathname);
  const match = /^\/c\/([^/]+)(?:\/m\/(\d+))?\/?$/.exec(pathname);
  return {
    conversationId: match ? decodeURIComponent(match[1]!) : null,
    messageSeq: match?.[2] ? Number(match[2]) : null,
  };
}
