import { displayName } from '../format.ts';
import { useChat } from '../state/store-context.tsx';

const none: string[] = [];

/** "Alice is typing…" under the messages, announced politely. */
export function TypingIndicator({ conversationId }: { conversationId: string }) {
  const typing = useChat((state) => state.typing[conversationId] ?? none);
  const entry = useChat((state) => state.inbox.find((candidate) => candidate.id === conversationId));
  const users = useChat((state) => state.users);
  const agents = useChat((state) => state.agents);
  const names = typing.map((id) => displayName(id, 'someone', { conversation: entry, users, agents }));
  const text =
    names.length === 0
      ? ''
      : names.length === 1
        ? `${names[0]} is typing…`
        : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
  return (
    <p className="typing" aria-live="polite">
      {text}
    </p>
  );
}
