import { memo, type ReactNode } from 'react';
import type { Conversation, Message } from '../client/index.ts';
import { displayName, formatTime } from '../format.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { AgentParts } from './AgentParts.tsx';
import { Avatar } from './Avatar.tsx';
import { Markdown } from './Markdown.tsx';
import { MessageExtras } from './MessageExtras.tsx';

const endedLabels = { failed: 'Failed', cancelled: 'Stopped', interrupted: 'Interrupted' } as const;

/** One message: sender, time, markdown body; a streaming reply has Stop, an ended one says how and offers Retry. */
export const MessageItem = memo(function MessageItem(props: {
  message: Message;
  conversation?: Conversation;
  mine: boolean;
  /** Follows a message of the same sender shortly before: avatar and name are not repeated. */
  continued?: boolean;
  /** The message a search result or link pointed at: shown highlighted, `aria-current`. */
  focused?: boolean;
  children?: ReactNode;
}) {
  const { message, conversation, mine, continued = false, focused = false } = props;
  const store = useStore();
  const users = useChat((state) => state.users);
  const agents = useChat((state) => state.agents);
  const sources = { conversation, users, agents };
  const senderName = displayName(message.sender.id, message.sender.handle, sources);
  // An agent writing for a person (an autoreply binding) shows as that person's assistant.
  const forName = message.onBehalfOf ? displayName(message.onBehalfOf, 'someone', sources) : null;
  const name = forName ? `${forName}'s assistant` : senderName;
  const isAgent = message.sender.type === 'agent';
  const streaming = message.status === 'streaming';
  const ended =
    message.status === 'failed' || message.status === 'cancelled' || message.status === 'interrupted' ? message.status : null;
  return (
    <li
      className={`message${mine ? ' mine' : ''}${isAgent ? ' agent' : ''}${continued ? ' continued' : ''}${focused ? ' focused' : ''}`}
      aria-current={focused ? 'true' : undefined}
      data-status={message.status}
      data-seq={message.seq}
      aria-busy={streaming}
    >
      {continued ? <span className="avatar-spacer" aria-hidden="true" /> : <Avatar name={name} agent={isAgent} />}
      <div className="message-body">
        <p className={continued ? 'message-meta sr-only' : 'message-meta'}>
          <span className="sender">{name}</span>
          {isAgent && (
            <span className="tag" title={forName ? `Written by ${senderName} for ${forName}` : undefined}>
              {forName ? `via ${senderName}` : 'agent'}
            </span>
          )}
          <time dateTime={message.createdAt}>{formatTime(message.createdAt)}</time>
        </p>
        {isAgent && <AgentParts message={message} />}
        {message.content ? (
          <Markdown text={message.content} />
        ) : streaming && message.parts.length === 0 ? (
          <p className="muted thinking">Thinking…</p>
        ) : null}
        {streaming && (
          <div className="message-actions">
            <span className="streaming-dot" aria-hidden="true" />
            <span className="sr-only">Replying…</span>
            {message.runId && (
              <button type="button" className="small" onClick={() => void store.stopRun(message.runId!)}>
                Stop
              </button>
            )}
          </div>
        )}
        {ended && (
          <div className={`message-actions ended ended-${ended}`} role="status">
            <span className="status-label">{endedLabels[ended]}</span>
            {message.error && <span className="error-text">{message.error}</span>}
            <button type="button" className="small" onClick={() => store.retry(message)}>
              Retry
            </button>
          </div>
        )}
        <MessageExtras message={message} mine={mine} />
        {props.children}
      </div>
    </li>
  );
});
