import type { OutgoingMessage } from '../client/index.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { Avatar } from './Avatar.tsx';
import { Markdown } from './Markdown.tsx';

/** A message of mine not yet stored: sending, waiting for the connection, or refused (discard it). */
export function QueuedMessage({ item }: { item: OutgoingMessage }) {
  const store = useStore();
  const me = useChat((state) => state.me);
  const connection = useChat((state) => state.connection);
  const name = me?.displayName ?? me?.handle ?? 'You';
  return (
    <li className="message mine queued" data-status={item.error ? 'rejected' : 'queued'}>
      <Avatar name={name} />
      <div className="message-body">
        <p className="message-meta">
          <span className="sender">{name}</span>
          <span className="muted">
            {item.error ? 'Not sent' : connection === 'open' ? 'Sending…' : 'Queued: waiting for the connection'}
          </span>
        </p>
        <Markdown text={item.content} />
        {item.error && (
          <div className="message-actions ended" role="status">
            <span className="error-text">{item.error}</span>
            <button type="button" className="small" onClick={() => store.discardQueued(item.clientMsgId)}>
              Discard
            </button>
          </div>
        )}
      </div>
    </li>
  );
}
