import { useEffect, useState } from 'react';
import type { Message } from '../client/index.ts';
import { openThread, useOpenThread } from '../state/open-thread.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { MessageItem } from './MessageItem.tsx';

/**
 * The open thread beside the conversation: its root, its replies (those loaded by the thread
 * endpoint and those arriving live in the conversation's log), and a reply box.
 */
export function ThreadPanel({ conversationId }: { conversationId: string }) {
  const rootId = useOpenThread();
  const store = useStore();
  const me = useChat((state) => state.me);
  const log = useChat((state) => state.logs[conversationId]);
  const [fetched, setFetched] = useState<{ root: Message; items: Message[] } | null>(null);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setFetched(null);
    if (!rootId) return;
    let current = true;
    store.api.listThread(rootId, { limit: 200 }).then(
      (thread) => current && setFetched(thread),
      (reason: unknown) => current && setError(String(reason)),
    );
    return () => {
      current = false;
    };
  }, [rootId, store]);

  if (!rootId) return null;
  const live = log?.items ?? [];
  const root = live.find((message) => message.id === rootId) ?? fetched?.root;
  if (root && root.conversationId !== conversationId) return null;
  const byId = new Map<string, Message>();
  for (const message of fetched?.items ?? []) byId.set(message.id, message);
  for (const message of live) if (message.threadRootId === rootId) byId.set(message.id, message);
  const replies = [...byId.values()].sort((a, b) => a.seq - b.seq);

  const send = async () => {
    const content = draft.trim();
    if (!content) return;
    try {
      await store.api.postMessage(conversationId, { content, threadRootId: rootId, clientMsgId: crypto.randomUUID() });
      setDraft('');
      setError(null);
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : String(reason));
    }
  };

  return (
    <aside className="thread-panel" aria-label="Thread">
      <header className="conversation-header">
        <h3>Thread</h3>
        <button type="button" className="ghost" onClick={() => openThread(null)} aria-label="Close thread">
          ×
        </button>
      </header>
      {root && (
        <ol className="message-list" aria-label="Thread messages">
          <MessageItem message={root} mine={root.sender.id === me?.id} />
          {replies.map((message) => (
            <MessageItem key={message.id} message={message} mine={message.sender.id === me?.id} />
          ))}
        </ol>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        <textarea aria-label="Reply in thread" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button type="submit" disabled={draft.trim() === ''}>
          Send reply
        </button>
      </form>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </aside>
  );
}
