import { useState } from 'react';
import type { Advice } from '../client/index.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { Markdown } from './Markdown.tsx';

const noAdvice: Advice[] = [];

/**
 * My private advice for a conversation, under the composer: each suggestion can be sent as my own
 * message, edited then sent, or dismissed; a notice (e.g. a binding's budget is spent) only dismissed.
 * Nobody else ever receives it.
 */
export function AdviceTray({ conversationId }: { conversationId: string }) {
  const items = useChat((state) => state.advice[conversationId] ?? noAdvice);
  if (items.length === 0) return null;
  return (
    <section className="advice-tray" aria-label="Private advice">
      {items.map((item) => (
        <AdviceCard key={item.id} advice={item} />
      ))}
    </section>
  );
}

function AdviceCard({ advice }: { advice: Advice }) {
  const store = useStore();
  const agents = useChat((state) => state.agents);
  const [draft, setDraft] = useState<string | null>(null);
  const agent = agents.find((candidate) => candidate.id === advice.agentId);
  const streaming = advice.status === 'streaming';
  const { conversationId, id } = advice;
  const label = advice.kind === 'notice' ? 'Notice' : `Suggestion from ${agent ? agent.displayName : 'your assistant'}`;
  return (
    <article className={`advice advice-${advice.kind}`} aria-label={label} data-status={advice.status}>
      <p className="advice-meta">
        <span>{label}</span>
        <span className="muted"> · only you see this</span>
      </p>
      {draft === null ? (
        advice.content ? (
          <Markdown text={advice.content} />
        ) : (
          <p className="muted thinking">{streaming ? 'Thinking…' : 'No suggestion'}</p>
        )
      ) : (
        <label>
          <span className="sr-only">Edit suggestion</span>
          <textarea value={draft} rows={3} onChange={(event) => setDraft(event.target.value)} />
        </label>
      )}
      {advice.error && <p className="error-text">{advice.error}</p>}
      <div className="advice-actions">
        {advice.kind === 'suggestion' && draft === null && (
          <>
            <button
              type="button"
              className="small primary"
              disabled={streaming || !advice.content.trim()}
              onClick={() => void store.advice.send(conversationId, id)}
            >
              Send
            </button>
            <button type="button" className="small" disabled={streaming} onClick={() => setDraft(advice.content)}>
              Edit
            </button>
          </>
        )}
        {draft !== null && (
          <>
            <button
              type="button"
              className="small primary"
              disabled={!draft.trim()}
              onClick={() => void store.advice.send(conversationId, id, draft)}
            >
              Send edited
            </button>
            <button type="button" className="small" onClick={() => setDraft(null)}>
              Cancel
            </button>
          </>
        )}
        <button type="button" className="small ghost" onClick={() => void store.advice.dismiss(conversationId, id)}>
          Dismiss
        </button>
      </div>
    </article>
  );
}
