import {
  applyDeltas,
  type ConnectionStatus,
  type InboxEntry,
  type Message,
  type MessagePart,
  type OutgoingMessage,
  type User,
  type Workspace,
  type Agent,
} from '../client/index.ts';
import type { AdviceByConversation } from './advice.ts';
import { applyMessage } from './inbox.ts';
import { appendDelta, contiguousSeq, mergeMessages, putPart, type MessageLog } from './message-log.ts';

/** Everything the UI renders. Replaced (never mutated) on each change, so React can compare by reference. */
export interface ChatState {
  session: 'loading' | 'signed-out' | 'signed-in';
  me: User | null;
  workspace: Workspace | null;
  connection: ConnectionStatus;
  inbox: InboxEntry[];
  inboxLoaded: boolean;
  /** Loaded history per conversation id. */
  logs: Record<string, MessageLog>;
  /** Messages written here and not yet stored by the server, oldest first. */
  outbox: OutgoingMessage[];
  /** Who is typing, per conversation id (user ids, not me). */
  typing: Record<string, string[]>;
  presence: Record<string, string>;
  users: User[];
  agents: Agent[];
  activeConversationId: string | null;
  /** My pending advice per conversation (private suggestions and notices from my bindings). */
  advice: AdviceByConversation;
  /** A short message for the user about the last thing that went wrong; null when none. */
  notice: string | null;
}

/** Before anything is known: the session is being restored. */
export const initialState: ChatState = {
  session: 'loading',
  me: null,
  workspace: null,
  connection: 'idle',
  inbox: [],
  inboxLoaded: false,
  logs: {},
  outbox: [],
  typing: {},
  presence: {},
  users: [],
  agents: [],
  activeConversationId: null,
  advice: {},
  notice: null,
};

/**
 * State transitions for server events, pure: the store adds the side effects (syncing a gap,
 * moving the read cursor, fetching an unknown conversation).
 */

/** A new or replayed `message`: merged into its log and the inbox. `gap`: seqs are missing before it. */
export function receiveMessage(
  state: ChatState,
  message: Message,
  reading: boolean,
): { state: ChatState; gap: boolean; known: boolean } {
  const { conversationId } = message;
  const log = state.logs[conversationId];
  const gap = !!log && log.items.length > 0 && message.seq > contiguousSeq(log) + 1;
  const logs = log ? { ...state.logs, [conversationId]: mergeMessages(log, [message]) } : state.logs;
  const known = state.inbox.some((entry) => entry.id === conversationId);
  const inbox = known ? applyMessage(state.inbox, message, { myId: state.me?.id ?? '', reading }) : state.inbox;
  return { state: { ...withoutTyping(state, conversationId, message.sender.id), logs, inbox }, gap, known };
}

/**
 * `message.delta`: text placed at `offset` in a streaming message (appended when the server sent
 * no offset), and in its inbox preview. A delta beyond the content held waits for the message to
 * be loaded again (`hasDeltaGap`).
 */
export function receiveDelta(
  state: ChatState,
  conversationId: string,
  messageId: string,
  delta: string,
  offset?: number,
): ChatState {
  const log = state.logs[conversationId];
  const logs = log ? { ...state.logs, [conversationId]: appendDelta(log, messageId, delta, offset) } : state.logs;
  const held = logs[conversationId]?.items.find((message) => message.id === messageId);
  const inbox = state.inbox.map((entry) => {
    if (entry.lastMessage?.id !== messageId) return entry;
    const content = held
      ? held.content
      : offset === undefined
        ? entry.lastMessage.content + delta
        : applyDeltas(entry.lastMessage.content, [{ offset, delta }]).content;
    return { ...entry, lastMessage: { ...entry.lastMessage, content } };
  });
  return { ...state, logs, inbox };
}

/** `message.delta` with a part: part `index` of a streaming message is set (no text changes). */
export function receivePart(
  state: ChatState,
  conversationId: string,
  messageId: string,
  index: number,
  part: MessagePart,
): ChatState {
  const log = state.logs[conversationId];
  if (!log) return state;
  return { ...state, logs: { ...state.logs, [conversationId]: putPart(log, messageId, index, part) } };
}

/** `message.done` / `message.updated`: the message's new state replaces the one held. */
export function receiveFinal(state: ChatState, message: Message): ChatState {
  const log = state.logs[message.conversationId];
  const logs = log ? { ...state.logs, [message.conversationId]: mergeMessages(log, [message]) } : state.logs;
  const inbox = state.inbox.map((entry) => (entry.lastMessage?.id === message.id ? { ...entry, lastMessage: message } : entry));
  return { ...state, logs, inbox };
}

/**
 * `message.updated` (an edit, delete, reaction or thread reply of a message sent earlier): replaces
 * the message only where it is held and only with a newer `updatedSeq`, so a change to a message
 * older than the loaded history does not insert it (and leave a hole before the log).
 */
export function receiveUpdated(state: ChatState, message: Message): ChatState {
  const held = state.logs[message.conversationId]?.items.find((candidate) => candidate.id === message.id);
  const inboxHeld = state.inbox.some((entry) => entry.lastMessage?.id === message.id);
  if ((!held && !inboxHeld) || (held && held.updatedSeq > message.updatedSeq)) return state;
  if (!held)
    return {
      ...state,
      inbox: state.inbox.map((entry) => (entry.lastMessage?.id === message.id ? { ...entry, lastMessage: message } : entry)),
    };
  return receiveFinal(state, message);
}

/** `userId` shown typing in `conversationId`. */
export function withTyping(state: ChatState, conversationId: string, userId: string): ChatState {
  const current = state.typing[conversationId] ?? [];
  return current.includes(userId) ? state : { ...state, typing: { ...state.typing, [conversationId]: [...current, userId] } };
}

/** `userId` no longer shown typing in `conversationId`. */
export function withoutTyping(state: ChatState, conversationId: string, userId: string): ChatState {
  const current = state.typing[conversationId];
  if (!current?.includes(userId)) return state;
  return { ...state, typing: { ...state.typing, [conversationId]: current.filter((id) => id !== userId) } };
}

/** A conversation I left (or that vanished): out of the inbox, its log dropped, closed if open. */
export function forgetConversation(state: ChatState, conversationId: string): ChatState {
  const { [conversationId]: _removed, ...logs } = state.logs;
  return {
    ...state,
    logs,
    inbox: state.inbox.filter((entry) => entry.id !== conversationId),
    activeConversationId: state.activeConversationId === conversationId ? null : state.activeConversationId,
  };
}
