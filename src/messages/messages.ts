import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db, Executor } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { conversationMembers, messages } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { Principal } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import { conversationTopic, type EventBus } from '../bus/event-bus.ts';
import { appendQueueOf, type Appended, type AppendInput, type PostedConversation } from './group-commit.ts';
import { toPublicMessage, type MessageRow, type PublicMessage } from './message-shape.ts';
import { attachmentParts } from '../attachments/attachments.ts';
import { refreshThreadRoot } from '../messaging/message-changes.ts';
import { readUpdatedMessages } from '../messaging/message-reads.ts';

/** Called after a message is committed and published; agents use it to decide whether to answer. */
export type MessagePostedListener = (message: PublicMessage, conversation: PostedConversation) => void;

export interface MessageDeps {
  db: Db;
  bus: EventBus;
  /** Longest message content in UTF-8 bytes; longer content is refused with payload_too_large. */
  maxMessageBytes: number;
  messagePosted: Set<MessagePostedListener>;
}

/** Who writes a message and how it starts; the sender is never taken from a request body. */
export type NewMessage = AppendInput;

/**
 * Stores a message with the next `seq` of its conversation and publishes it, in that order: the
 * result and the `message` event exist only after the transaction commits. `seq` is assigned under
 * the conversation row's lock, so concurrent appends get contiguous, unique seqs. Appends are
 * group-committed (`AppendQueue`): under load several share one statement and transaction.
 * A `clientMsgId` seen before from the same sender returns the first message (`created: false`);
 * the same id with different content throws conflict. Throws payload_too_large, not_found (thread root).
 */
export async function appendMessage(deps: MessageDeps, input: NewMessage): Promise<{ message: PublicMessage; created: boolean }> {
  if (Buffer.byteLength(input.content, 'utf8') > deps.maxMessageBytes) {
    throw new AppError('payload_too_large', `Message content exceeds ${deps.maxMessageBytes} bytes`);
  }
  if (input.threadRootId) await checkThreadRoot(deps.db, input.conversationId, input.threadRootId);
  let appended: Appended | undefined;
  let raced: unknown;
  try {
    appended = await appendQueueOf(deps.db).append(input);
  } catch (error) {
    // A clientMsgId stored meanwhile by another statement fails the unique index; nothing was stored.
    if (!(input.clientMsgId && isUniqueViolation(error))) throw error;
    raced = error;
  }
  if (!appended) {
    // Not stored: the clientMsgId was used before (seen by the statement, or raced in), or no membership.
    if (input.clientMsgId) {
      const existing = await findByClientMsgId(deps.db, input);
      if (existing) return { message: checkSameContent(existing, input), created: false };
    }
    throw raced ?? new AppError('not_found', 'Conversation not found');
  }
  const message = toPublicMessage(appended.row);
  await deps.bus.publish(conversationTopic(message.conversationId), { type: 'message', message });
  // The root's replyCount / lastReplyAt follow, as a `message.updated` after the reply's `message`.
  if (message.threadRootId) await refreshThreadRoot(deps, message.conversationId, message.threadRootId);
  for (const listener of deps.messagePosted) listener(message, appended.conversation);
  return { message, created: true };
}

/**
 * A person posts to a conversation they belong to (HTTP and WebSocket `send`).
 * Throws not_found when the principal is not a member; see `appendMessage` for the rest.
 */
export async function postMessage(
  deps: MessageDeps,
  principal: Principal,
  conversationId: string,
  input: { content: string; clientMsgId?: string; threadRootId?: string; attachmentIds?: string[] },
): Promise<{ message: PublicMessage; created: boolean }> {
  const parts = input.attachmentIds?.length
    ? await attachmentParts(deps.db, principal, conversationId, input.attachmentIds)
    : undefined;
  return appendMessage(deps, {
    workspaceId: principal.workspaceId,
    conversationId,
    sender: { type: 'user', id: principal.userId },
    content: input.content,
    clientMsgId: input.clientMsgId,
    threadRootId: input.threadRootId,
    parts,
  });
}

/**
 * The sender's earlier message with `input.clientMsgId`. A person (no `handle`) must still be a
 * member of the conversation, as for a new append; otherwise undefined.
 */
async function findByClientMsgId(db: Executor, input: NewMessage): Promise<MessageRow | undefined> {
  const byClientMsgId = and(
    eq(messages.conversationId, input.conversationId),
    eq(messages.senderId, input.sender.id),
    eq(messages.clientMsgId, input.clientMsgId!),
  );
  if (input.sender.handle !== undefined) {
    const [row] = await db.select().from(messages).where(byClientMsgId);
    return row;
  }
  const [found] = await db
    .select({ message: messages })
    .from(messages)
    .innerJoin(
      conversationMembers,
      and(
        eq(conversationMembers.conversationId, messages.conversationId),
        eq(conversationMembers.memberId, messages.senderId),
        eq(conversationMembers.workspaceId, input.workspaceId),
      ),
    )
    .where(byClientMsgId);
  return found?.message;
}

function checkSameContent(existing: MessageRow, input: NewMessage): PublicMessage {
  if (existing.content !== input.content || (existing.threadRootId ?? undefined) !== input.threadRootId) {
    throw new AppError('conflict', 'clientMsgId was already used for a different message', {
      details: { messageId: existing.id, seq: existing.seq },
    });
  }
  return toPublicMessage(existing);
}

async function checkThreadRoot(db: Executor, conversationId: string, threadRootId: string): Promise<void> {
  const [root] = await db
    .select({ id: messages.id, threadRootId: messages.threadRootId })
    .from(messages)
    .where(and(eq(messages.id, threadRootId), eq(messages.conversationId, conversationId)));
  if (!root) throw new AppError('not_found', 'Thread root message not found in this conversation');
  if (root.threadRootId) throw new AppError('invalid_request', 'threadRootId must name a top-level message');
}

/**
 * A page of history in ascending seq. With `afterSeq`: the first `limit` after it. With `beforeSeq`
 * (and no `afterSeq`): the last `limit` before it. With neither: the latest `limit`.
 * `hasMore` says whether messages exist beyond the page in the direction of travel.
 */
export async function listMessages(
  db: Executor,
  principal: Principal,
  conversationId: string,
  page: { afterSeq?: number; beforeSeq?: number; limit: number },
): Promise<{ items: PublicMessage[]; hasMore: boolean }> {
  await requireMembership(db, principal.workspaceId, conversationId, principal.userId);
  return readMessages(db, conversationId, page);
}

/**
 * The messages of the conversation changed after the change counter `updatedAfter` (edits,
 * deletes, reactions, thread replies), ascending by `updatedSeq`; see `readUpdatedMessages`.
 * Throws not_found when the principal is not a member.
 */
export async function listUpdatedMessages(
  db: Executor,
  principal: Principal,
  conversationId: string,
  page: { updatedAfter: number; limit: number },
): Promise<{ items: PublicMessage[]; hasMore: boolean }> {
  await requireMembership(db, principal.workspaceId, conversationId, principal.userId);
  return readUpdatedMessages(db, conversationId, page);
}

/** `listMessages` without the membership check, for callers that already made it (sync, SSE replay). */
export async function readMessages(
  db: Executor,
  conversationId: string,
  page: { afterSeq?: number; beforeSeq?: number; limit: number },
): Promise<{ items: PublicMessage[]; hasMore: boolean }> {
  const ascending = page.afterSeq !== undefined;
  const rows = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        page.afterSeq !== undefined ? gt(messages.seq, page.afterSeq) : undefined,
        page.beforeSeq !== undefined ? lt(messages.seq, page.beforeSeq) : undefined,
      ),
    )
    .orderBy(ascending ? asc(messages.seq) : desc(messages.seq))
    .limit(page.limit + 1);
  const hasMore = rows.length > page.limit;
  const pageRows = rows.slice(0, page.limit);
  if (!ascending) pageRows.reverse();
  return { items: pageRows.map(toPublicMessage), hasMore };
}

/**
 * Moves the principal's read cursor forward to `seq` (never back, never past the last message)
 * and publishes `read {conversationId, memberId, seq}`. Returns the cursor now stored.
 */
export async function markRead(deps: MessageDeps, principal: Principal, conversationId: string, seq: number): Promise<number> {
  const { conversation } = await requireMembership(deps.db, principal.workspaceId, conversationId, principal.userId);
  const target = Math.min(seq, conversation.lastSeq);
  const [row] = await deps.db
    .update(conversationMembers)
    .set({ lastReadSeq: sql`greatest(${conversationMembers.lastReadSeq}, ${target})` })
    .where(and(eq(conversationMembers.conversationId, conversationId), eq(conversationMembers.memberId, principal.userId)))
    .returning({ lastReadSeq: conversationMembers.lastReadSeq });
  const stored = row?.lastReadSeq ?? target;
  await deps.bus.publish(conversationTopic(conversationId), {
    type: 'read',
    conversationId,
    memberId: principal.userId,
    seq: stored,
  });
  return stored;
}
