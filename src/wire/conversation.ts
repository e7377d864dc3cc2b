/**
 * The public shapes of conversations, their members and inbox rows (SPEC §3), shared by the server
 * and the web client (web/src/client). Dependency-free: imports nothing outside src/wire.
 * Times are ISO 8601 strings.
 */
import type { PublicMessage } from './message.ts';

/** A member as the API shows it, with their read cursor. `handle` and `displayName` come from the user or agent. */
export interface PublicMember {
  type: 'user' | 'agent';
  id: string;
  handle: string;
  displayName: string;
  role: 'owner' | 'member';
  lastReadSeq: number;
  joinedAt: string;
}

/** A direct (two members) or group conversation; `lastSeq` is its newest message's seq. */
export interface PublicConversation {
  id: string;
  workspaceId: string;
  kind: 'direct' | 'group';
  title: string | null;
  createdBy: string;
  lastSeq: number;
  lastActivityAt: string;
  createdAt: string;
  members: PublicMember[];
}

/** An inbox entry: the conversation with the caller's unread count and the last message. */
export interface InboxEntry extends PublicConversation {
  unreadCount: number;
  lastMessage: PublicMessage | null;
}
