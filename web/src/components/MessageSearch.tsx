import { useState, type FormEvent } from 'react';
import type { SearchHit } from '../client/index.ts';
import { displayName, formatTime } from '../format.ts';
import { conversationTitle } from '../state/inbox.ts';
import { messagePath, navigate } from '../state/router.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice, useAction } from './action.tsx';
import { InboxList } from './InboxList.tsx';

/** What a search shows: its query, the hits so far and the cursor of the next page. */
interface Results {
  q: string;
  items: SearchHit[];
  nextCursor: string | null;
}

/**
 * The sidebar's message search over every conversation I belong to (web-search syntax:
 * `"exact phrase"`, `-word`, `or`). While a search is shown it replaces the inbox: each hit names
 * its conversation, sender and time with the matched words marked, and opens the conversation at
 * that message (`/c/<id>/m/<seq>`); **More results** pages on; **Clear** (or Escape) brings the
 * inbox back.
 */
export function MessageSearch({ activeId }: { activeId: string | null }) {
  const store = useStore();
  const inbox = useChat((state) => state.inbox);
  const users = useChat((state) => state.users);
  const agents = useChat((state) => state.agents);
  const me = useChat((state) => state.me);
  const [text, setText] = useState('');
  const [results, setResults] = useState<Results | null>(null);
  const { busy, error, setError, run } = useAction();

  async function search(q: string, cursor?: string) {
    const found = await run(async () => {
      const page = await store.api.searchMessages({ q, cursor });
      setResults((current) => ({
        q,
        items: cursor && current ? [...current.items, ...page.items] : page.items,
        nextCursor: page.nextCursor,
      }));
    });
    if (!found && !cursor) setResults(null);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (text.trim()) void search(text.trim());
  }

  function clear() {
    setText('');
    setResults(null);
    setError(null);
  }

  return (
    <>
      <form role="search" className="message-search" onSubmit={submit}>
        <input
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            if (!event.target.value) clear();
          }}
          onKeyDown={(event) => {
            if (event.key === 'Escape') clear();
          }}
        />
      </form>
      <div className="search-error">
        <ErrorNotice error={error} />
      </div>
      {results ? (
        <section className="search-results" aria-label="Search results">
          <p className="muted search-summary">
            {results.items.length === 0
              ? `Nothing matches “${results.q}”.`
              : `${results.items.length}${results.nextCursor ? '+' : ''} ${results.items.length === 1 ? 'message' : 'messages'} match “${results.q}”`}
            <button type="button" className="link" onClick={clear}>
              Clear
            </button>
          </p>
          <ul>
            {results.items.map(({ message, highlight }) => {
              const entry = inbox.find((candidate) => candidate.id === message.conversationId);
              const path = messagePath(message.conversationId, message.seq);
              return (
                <li key={message.id}>
                  <a
                    href={path}
                    className="search-hit"
                    onClick={(event) => {
                      event.preventDefault();
                      navigate(path);
                    }}
                  >
                    <span className="search-hit-meta">
                      <strong>{entry ? conversationTitle(entry, me?.id ?? '') : 'A conversation'}</strong> ·{' '}
                      {displayName(message.sender.id, message.sender.handle, { conversation: entry, users, agents })} ·{' '}
                      {formatTime(message.createdAt)}
                    </span>
                    <span className="search-hit-text">
                      {highlight.map((segment, index) =>
                        segment.highlighted ? <mark key={index}>{segment.text}</mark> : <span key={index}>{segment.text}</span>,
                      )}
                    </span>
                  </a>
                </li>
              );
            })}
          </ul>
          {results.nextCursor && (
            <button type="button" className="link" disabled={busy} onClick={() => void search(results.q, results.nextCursor!)}>
              More results
            </button>
          )}
        </section>
      ) : (
        <InboxList activeId={activeId} />
      )}
    </>
  );
}
