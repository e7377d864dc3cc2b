import type { InboxEntry, Message } from '../client/index.ts';
import { plainPreview } from '../format.ts';
import { conversationTitle } from '../state/inbox.ts';
import { conversationPath, navigate } from '../state/router.ts';
import { useChat } from '../state/store-context.tsx';
import { Avatar } from './Avatar.tsx';

/** Conversations by last activity, each with its unread count and last message. */
export function InboxList({ activeId }: { activeId: string | null }) {
  const inbox = useChat((state) => state.inbox);
  const loaded = useChat((state) => state.inboxLoaded);
  const me = useChat((state) => state.me);
  if (loaded && inbox.length === 0) return <p className="muted inbox-empty">No conversations yet.</p>;
  return (
    <nav aria-label="Inbox" className="inbox">
      <ul>
        {inbox.map((entry) => {
          const title = conversationTitle(entry, me?.id ?? '');
          const last = entry.lastMessage;
          const preview = last
            ? `${previewSender(last, me?.id, entry)}: ${plainPreview(last.content) || '…'}`
            : 'No messages yet';
          const hasAgent = entry.members.some((member) => member.type === 'agent');
          return (
            <li key={entry.id}>
              <a
                href={conversationPath(entry.id)}
                className={`inbox-item${entry.id === activeId ? ' active' : ''}${entry.unreadCount > 0 ? ' unread' : ''}`}
                aria-current={entry.id === activeId ? 'page' : undefined}
                onClick={(event) => {
                  event.preventDefault();
                  navigate(conversationPath(entry.id));
                }}
              >
                <Avatar name={title} agent={hasAgent && entry.kind === 'direct'} />
                <span className="inbox-text">
                  <span className="inbox-title">{title}</span>
                  <span className="inbox-preview">{preview}</span>
                </span>
                {entry.unreadCount > 0 && (
                  <span className="badge" aria-label={`${entry.unreadCount} unread`}>
                    {entry.unreadCount}
                  </span>
                )}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

/** Who wrote the inbox preview: You, a handle, or "<person>'s assistant" for an agent writing for someone (bindings). */
function previewSender(message: Message, myId: string | undefined, entry: InboxEntry): string {
  if (message.onBehalfOf) {
    if (message.onBehalfOf === myId) return 'Your assistant';
    const person = entry.members.find((member) => member.id === message.onBehalfOf);
    return `${person?.handle ?? 'someone'}'s assistant`;
  }
  return message.sender.id === myId ? 'You' : message.sender.handle;
}
