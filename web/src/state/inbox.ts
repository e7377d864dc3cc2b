import type { Conversation, InboxEntry, Message } from '../client/index.ts';

/** Newest activity first, as the server orders the inbox. */
export function sortInbox(entries: InboxEntry[]): InboxEntry[] {
  return entries.slice().sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt) || b.id.localeCompare(a.id));
}

/** An inbox entry for a conversation just joined: unread is what lies after my read cursor. */
export function entryFromConversation(conversation: Conversation, myId: string): InboxEntry {
  const me = conversation.members.find((member) => member.id === myId);
  return { ...conversation, unreadCount: Math.max(0, conversation.lastSeq - (me?.lastReadSeq ?? 0)), lastMessage: null };
}

/**
 * The inbox after `message` arrived: its conversation moves to the top with it as lastMessage, and
 * counts as unread unless I wrote it (the server moved my cursor) or I am reading that conversation now.
 */
export function applyMessage(entries: InboxEntry[], message: Message, options: { myId: string; reading: boolean }): InboxEntry[] {
  const entry = entries.find((candidate) => candidate.id === message.conversationId);
  if (!entry) return entries;
  const isNew = message.seq > entry.lastSeq;
  const isLatest = !entry.lastMessage || message.seq >= entry.lastMessage.seq;
  const mine = message.sender.type === 'user' && message.sender.id === options.myId;
  const updated: InboxEntry = {
    ...entry,
    lastSeq: Math.max(entry.lastSeq, message.seq),
    lastMessage: isLatest ? message : entry.lastMessage,
    lastActivityAt: isNew && message.createdAt > entry.lastActivityAt ? message.createdAt : entry.lastActivityAt,
    unreadCount: !isNew ? entry.unreadCount : mine || options.reading ? 0 : entry.unreadCount + 1,
  };
  return sortInbox(entries.map((candidate) => (candidate === entry ? updated : candidate)));
}

/** The inbox after `memberId` read `conversationId` up to `seq`. */
export function applyRead(
  entries: InboxEntry[],
  conversationId: string,
  memberId: string,
  seq: number,
  myId: string,
): InboxEntry[] {
  return entries.map((entry) => {
    if (entry.id !== conversationId) return entry;
    const members = entry.members.map((member) =>
      member.id === memberId ? { ...member, lastReadSeq: Math.max(member.lastReadSeq, seq) } : member,
    );
    const unreadCount = memberId === myId ? Math.max(0, entry.lastSeq - seq) : entry.unreadCount;
    return { ...entry, members, unreadCount };
  });
}

/** Display name of a conversation for `myId`: its title, or the other members' names. */
export function conversationTitle(conversation: Conversation, myId: string): string {
  if (conversation.title) return conversation.title;
  const others = conversation.members.filter((member) => member.id !== myId);
  if (others.length === 0) return 'Just you';
  return others.map((member) => member.displayName || member.handle).join(', ');
}
