import { useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { filterMentions, insertMention, mentionAt, type MentionCandidate } from '../state/mentions.ts';
import { useChat, useStore } from '../state/store-context.tsx';

/**
 * The message box: Enter sends, Shift+Enter adds a line, `@` suggests members and agents
 * (arrows to move, Enter or Tab to pick, Escape to close). Sending works offline: it queues.
 */
export function Composer({ conversationId }: { conversationId: string }) {
  const store = useStore();
  const entry = useChat((state) => state.inbox.find((candidate) => candidate.id === conversationId));
  const agents = useChat((state) => state.agents);
  const me = useChat((state) => state.me);
  const [text, setText] = useState('');
  const [mention, setMention] = useState<{ query: string; start: number } | null>(null);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLTextAreaElement>(null);
  const listId = useId();

  const candidates = useMemo<MentionCandidate[]>(() => {
    const members = (entry?.members ?? []).filter((member) => member.id !== me?.id);
    const memberIds = new Set(members.map((member) => member.id));
    const otherAgents = agents.filter((agent) => !memberIds.has(agent.id)).map((agent) => ({ ...agent, type: 'agent' as const }));
    return [...members, ...otherAgents].map(({ id, handle, displayName, type }) => ({ id, handle, displayName, type }));
  }, [entry, agents, me]);
  const suggestions = mention ? filterMentions(candidates, mention.query) : [];
  const open = suggestions.length > 0;

  function refreshMention(value: string, caret: number) {
    setMention(mentionAt(value, caret));
    setActive(0);
  }

  function pick(candidate: MentionCandidate) {
    const element = input.current;
    if (!element || !mention) return;
    const next = insertMention(text, mention.start, element.selectionStart, candidate.handle);
    setText(next.text);
    setMention(null);
    requestAnimationFrame(() => element.setSelectionRange(next.caret, next.caret));
  }

  function send() {
    if (!text.trim()) return;
    store.send(conversationId, text);
    setText('');
    setMention(null);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.nativeEvent.isComposing) return;
    if (open) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        setActive((current) => (current + step + suggestions.length) % suggestions.length);
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        pick(suggestions[active] ?? suggestions[0]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setMention(null);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {open && (
        <ul className="mentions" id={listId} role="listbox" aria-label="Mention suggestions">
          {suggestions.map((candidate, index) => (
            <li
              key={candidate.id}
              id={`${listId}-${index}`}
              role="option"
              aria-selected={index === active}
              className={index === active ? 'active' : undefined}
              onMouseDown={(event) => {
                event.preventDefault();
                pick(candidate);
              }}
            >
              <span className="mention-handle">@{candidate.handle}</span>
              <span className="muted">
                {candidate.displayName}
                {candidate.type === 'agent' ? ' · agent' : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      <label className="sr-only" htmlFor={`${listId}-input`}>
        Message
      </label>
      <textarea
        id={`${listId}-input`}
        ref={input}
        value={text}
        rows={1}
        placeholder="Write a message… (@ to mention)"
        aria-autocomplete="list"
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${active}` : undefined}
        onChange={(event) => {
          setText(event.target.value);
          refreshMention(event.target.value, event.target.selectionStart);
          if (event.target.value) store.typing(conversationId);
        }}
        onKeyDown={onKeyDown}
        onClick={(event) => refreshMention(text, event.currentTarget.selectionStart)}
        onBlur={() => setMention(null)}
      />
      <button type="submit" className="primary" disabled={!text.trim()}>
        Send
      </button>
    </form>
  );
}
