import { useState } from 'react';
import type { AttachmentPart, CitationPart, Message } from '../client/index.ts';
import { AttachmentView } from './AttachmentView.tsx';
import { openThread } from '../state/open-thread.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { RunDetailsDialog } from './RunDetailsDialog.tsx';

const quickReactions = ['👍', '🎉', '👀'];

/**
 * Under a message: "edited", reactions (click to toggle yours), and for your own messages Edit and
 * Delete. Changes go to the server; the new state comes back as `message.updated`.
 */
export function MessageExtras(props: { message: Message; mine: boolean }) {
  const { message, mine } = props;
  const store = useStore();
  const myId = useChat((state) => state.me?.id ?? '');
  const inbox = useChat((state) => state.inbox);
  const [draft, setDraft] = useState<string | null>(null);
  const [forwarding, setForwarding] = useState(false);
  const [showRun, setShowRun] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = (action: Promise<unknown>) =>
    action.then(
      () => setError(null),
      (reason: unknown) => setError(reason instanceof Error ? reason.message : String(reason)),
    );
  if (message.deletedAt) return <p className="muted deleted">Message deleted</p>;
  if (message.status === 'streaming') return null;
  const reactions = message.reactions;
  const toggle = (emoji: string) => {
    const on = !reactions.find((reaction) => reaction.emoji === emoji)?.userIds.includes(myId);
    void run(store.api.react(message.id, emoji, on));
  };
  const attachments = message.parts.filter((part): part is AttachmentPart => part.type === 'attachment');
  const citations = message.parts.filter((part): part is CitationPart => part.type === 'citation');
  const targets = inbox.filter((entry) => entry.id !== message.conversationId);
  return (
    <div className="message-extras">
      {message.forwardedFrom && (
        <span className="muted forwarded">
          Forwarded{message.forwardedFrom.senderHandle ? ` from @${message.forwardedFrom.senderHandle}` : ''}
        </span>
      )}
      {attachments.map((part) => (
        <AttachmentView key={part.attachmentId} part={part} />
      ))}
      {citations.length > 0 && (
        <details className="sources">
          <summary>
            {citations.length} {citations.length === 1 ? 'source' : 'sources'}
          </summary>
          <ol>
            {citations.map((part) => (
              <li key={part.chunkId} value={part.index}>
                <strong>{part.documentTitle}</strong> <span className="muted">part {part.position + 1}</span>
                <blockquote>{part.excerpt}</blockquote>
              </li>
            ))}
          </ol>
        </details>
      )}
      {message.editedAt && <span className="muted edited">(edited)</span>}
      {draft !== null ? (
        <form
          className="edit-form"
          onSubmit={(event) => {
            event.preventDefault();
            void run(store.api.editMessage(message.id, draft)).then(() => setDraft(null));
          }}
        >
          <textarea aria-label="Edit message" value={draft} onChange={(event) => setDraft(event.target.value)} />
          <button type="submit" className="small" disabled={draft.trim() === ''}>
            Save
          </button>
          <button type="button" className="small" onClick={() => setDraft(null)}>
            Cancel
          </button>
        </form>
      ) : null}
      <div className="reactions" role="group" aria-label="Reactions">
        {reactions.map((reaction) => (
          <button
            key={reaction.emoji}
            type="button"
            className={`small reaction${reaction.userIds.includes(myId) ? ' mine' : ''}`}
            aria-pressed={reaction.userIds.includes(myId)}
            aria-label={`${reaction.emoji} ${reaction.count}`}
            onClick={() => toggle(reaction.emoji)}
          >
            {reaction.emoji} {reaction.count}
          </button>
        ))}
        {!message.threadRootId && !!message.replyCount && (
          <button type="button" className="small" onClick={() => openThread(message.id)}>
            {message.replyCount} {message.replyCount === 1 ? 'reply' : 'replies'}
          </button>
        )}
      </div>
      <div className="message-toolbar" role="group" aria-label="Message actions">
        {quickReactions
          .filter((emoji) => !reactions.some((reaction) => reaction.emoji === emoji))
          .map((emoji) => (
            <button
              key={emoji}
              type="button"
              className="small add-reaction"
              aria-label={`React ${emoji}`}
              onClick={() => toggle(emoji)}
            >
              {emoji}
            </button>
          ))}
        {!message.threadRootId && !message.replyCount && (
          <button type="button" className="small" onClick={() => openThread(message.id)}>
            Reply
          </button>
        )}
        {targets.length > 0 && (
          <button type="button" className="small" aria-expanded={forwarding} onClick={() => setForwarding(!forwarding)}>
            Forward
          </button>
        )}
        {message.runId && message.sender.type === 'agent' && (
          <button type="button" className="small" onClick={() => setShowRun(true)}>
            How it ran
          </button>
        )}
        {mine && draft === null && (
          <>
            <button type="button" className="small" onClick={() => setDraft(message.content)}>
              Edit
            </button>
            <button type="button" className="small" onClick={() => void run(store.api.deleteMessage(message.id))}>
              Delete
            </button>
          </>
        )}
      </div>
      {showRun && message.runId && <RunDetailsDialog runId={message.runId} onClose={() => setShowRun(false)} />}
      {forwarding && (
        <label className="forward-to">
          Forward to
          <select
            defaultValue=""
            onChange={(event) => {
              if (!event.target.value) return;
              void run(store.api.forwardMessage(message.id, event.target.value)).then(() => setForwarding(false));
            }}
          >
            <option value="">Choose a conversation…</option>
            {targets.map((entry) => (
              <option key={entry.id} value={entry.id}>
                {entry.title ?? entry.members.map((member) => `@${member.handle}`).join(', ')}
              </option>
            ))}
          </select>
        </label>
      )}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
