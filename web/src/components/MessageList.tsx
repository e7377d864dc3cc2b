import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { Message, OutgoingMessage } from '../client/index.ts';
import { emptyLog } from '../state/message-log.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { MessageItem } from './MessageItem.tsx';
import { QueuedMessage } from './QueuedMessage.tsx';

const noQueue: OutgoingMessage[] = [];
const groupWithinMs = 5 * 60 * 1000;

/** Whether `message` directly follows `previous` from the same sender within five minutes. */
function continues(previous: Message | undefined, message: Message): boolean {
  if (!previous || previous.sender.id !== message.sender.id || previous.seq !== message.seq - 1) return false;
  return Date.parse(message.createdAt) - Date.parse(previous.createdAt) < groupWithinMs;
}

/**
 * The conversation's messages in seq order, then my queued ones; follows the bottom while it is in
 * view. With `focusSeq` (a search result or a `/c/<id>/m/<seq>` link) it loads older pages until
 * that message is held, scrolls it to the middle and highlights it; a message too far back or gone
 * is said in the notice bar.
 */
export function MessageList({ conversationId, focusSeq = null }: { conversationId: string; focusSeq?: number | null }) {
  const store = useStore();
  const log = useChat((state) => state.logs[conversationId]);
  const outbox = useChat((state) => state.outbox);
  const entry = useChat((state) => state.inbox.find((candidate) => candidate.id === conversationId));
  const me = useChat((state) => state.me);
  const queued = outbox.length ? outbox.filter((item) => item.conversationId === conversationId) : noQueue;
  const { items, hasOlder } = log ?? emptyLog;
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const last = items.at(-1);
  /** The seq to scroll to once its page is rendered, then the one shown highlighted. */
  const [scrollTo, setScrollTo] = useState<number | null>(null);
  const [focused, setFocused] = useState<number | null>(null);

  useEffect(() => {
    if (focusSeq === null) return;
    let current = true;
    pinned.current = false;
    void store.reachMessage(conversationId, focusSeq).then((held) => {
      if (!current) return;
      if (held) setScrollTo(focusSeq);
      else
        store.notify(
          'That message could not be shown: it was deleted, or it is too far back. Scroll up to load earlier messages.',
        );
    });
    return () => {
      current = false;
    };
  }, [store, conversationId, focusSeq]);

  useLayoutEffect(() => {
    if (scrollTo === null) return;
    const element = scroller.current?.querySelector(`[data-seq="${scrollTo}"]`);
    if (!element) return; // its page is not rendered yet
    element.scrollIntoView({ block: 'center' });
    setFocused(scrollTo);
    setScrollTo(null);
  }, [scrollTo, items.length]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [items.length, last?.content, queued.length]);

  const myLast = [...items].reverse().find((message) => message.sender.id === me?.id);
  const seenBy = myLast
    ? (entry?.members ?? []).filter(
        (member) => member.type === 'user' && member.id !== me?.id && member.lastReadSeq >= myLast.seq,
      )
    : [];

  return (
    <div
      className="messages"
      ref={scroller}
      onScroll={(event) => {
        const element = event.currentTarget;
        pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
      }}
    >
      {hasOlder && (
        <button type="button" className="link load-older" onClick={() => void store.loadOlder(conversationId)}>
          Load earlier messages
        </button>
      )}
      {!log && <p className="muted center">Loading…</p>}
      {log && items.length === 0 && queued.length === 0 && <p className="muted center">No messages yet. Say hello!</p>}
      <ol className="message-list" aria-label="Messages" aria-live="polite" aria-relevant="additions">
        {items.map((message, index) => (
          <MessageItem
            key={message.id}
            message={message}
            conversation={entry}
            mine={message.sender.id === me?.id}
            continued={continues(items[index - 1], message)}
            focused={message.seq === focused}
          >
            {message === myLast && seenBy.length > 0 && (
              <p className="seen">
                Seen
                {entry?.kind === 'group' ? ` by ${seenBy.map((member) => member.displayName || member.handle).join(', ')}` : ''}
              </p>
            )}
          </MessageItem>
        ))}
        {queued.map((item) => (
          <QueuedMessage key={item.clientMsgId} item={item} />
        ))}
      </ol>
    </div>
  );
}
