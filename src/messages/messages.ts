import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Db, Executor } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { conversationMembers, conversations, messages, users, type MessageStatus } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { Principal } from '../auth/auth-service.ts';
import { requireMembership, type ConversationRow } from '../conversations/conversations.ts';
import { conversationTopic, type EventBus } from '../realtime/event-bus.ts';
import { toPublicMessage, type MessageRow, type PublicMessage } from './message-shape.ts';

/**
 * The conversation a message was just posted to, as listeners need it. `agentMemberIds` is read in
 * the append statement, so conversations without agents cost the reply trigger no query.
 */
export type PostedConversation = Pick<ConversationRow, 'id' | 'workspaceId' | 'kind'> & { agentMemberIds: string[] };

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
export interface NewMessage {
  workspaceId: string;
  conversationId: string;
  /**
   * Without `handle`, the sender must be a user member of the conversation: the append reads the
   * handle and stores nothing (not_found) for a non-member, all in the same statement.
   */
  sender: { type: 'user' | 'agent'; id: string; handle?: string };
  content: string;
  clientMsgId?: string;
  threadRootId?: string;
  onBehalfOf?: string;
  status?: MessageStatus;
  runId?: string;
  parts?: unknown[];
}

/**
 * Stores a message with the next `seq` of its conversation and publishes it, in that order: the
 * result and the `message` event exist only after the transaction commits. `seq` is assigned under
 * the conversation row's lock, so concurrent appends get contiguous, unique seqs.
 * A `clientMsgId` seen before from the same sender returns the first message (`created: false`);
 * the same id with different content throws conflict. Throws payload_too_large, not_found (thread root).
 */
export async function appendMessage(deps: MessageDeps, input: NewMessage): Promise<{ message: PublicMessage; created: boolean }> {
  if (Buffer.byteLength(input.content, 'utf8') > deps.maxMessageBytes) {
    throw new AppError('payload_too_large', `Message content exceeds ${deps.maxMessageBytes} bytes`);
  }
  if (input.threadRootId) await checkThreadRoot(deps.db, input.conversationId, input.threadRootId);
  let appended: { row: MessageRow; conversation: PostedConversation } | undefined;
  try {
    appended = await insertWithNextSeq(deps.db, input);
  } catch (error) {
    // A repeated clientMsgId fails the unique index: the whole statement, seq bump included, is undone.
    if (input.clientMsgId && isUniqueViolation(error)) {
      const existing = await findByClientMsgId(deps.db, input);
      if (existing) return { message: checkSameContent(existing, input), created: false };
    }
    throw error;
  }
  if (!appended) throw new AppError('not_found', 'Conversation not found');
  const message = toPublicMessage(appended.row);
  await deps.bus.publish(conversationTopic(message.conversationId), { type: 'message', message });
  for (const listener of deps.messagePosted) listener(message, appended.conversation);
  return { message, created: true };
}

/**
 * One statement, so one round trip and its own transaction: bump the conversation's `last_seq`
 * (the row lock orders concurrent appends), insert the message with that seq, and move a person's
 * read cursor to their own message. Undefined when the conversation does not exist.
 */
async function insertWithNextSeq(
  db: Executor,
  input: NewMessage,
): Promise<{ row: MessageRow; conversation: PostedConversation } | undefined> {
  const sender =
    input.sender.handle === undefined
      ? sql`select ${users.handle} as handle from ${conversationMembers}
          join ${users} on ${users.id} = ${conversationMembers.memberId}
          where ${conversationMembers.conversationId} = ${input.conversationId}
            and ${conversationMembers.memberId} = ${input.sender.id}
            and ${conversationMembers.workspaceId} = ${input.workspaceId}`
      : sql`select ${input.sender.handle}::text as handle`;
  const result = await db.execute(sql`
    with sender as (${sender}), counter as (
      update ${conversations} set last_seq = last_seq + 1, last_activity_at = now()
      where id = ${input.conversationId} and workspace_id = ${input.workspaceId} and exists (select 1 from sender)
      returning id, kind, last_seq
    ), inserted as (
      insert into ${messages} (id, workspace_id, conversation_id, seq, thread_root_id, sender_type, sender_id,
        sender_handle, on_behalf_of, content, parts, status, run_id, client_msg_id)
      select ${uuidv7()}, ${input.workspaceId}, counter.id, counter.last_seq, ${input.threadRootId ?? null},
        ${input.sender.type}, ${input.sender.id}, (select handle from sender), ${input.onBehalfOf ?? null}, ${input.content},
        ${JSON.stringify(input.parts ?? [])}::jsonb, ${input.status ?? 'complete'}, ${input.runId ?? null}, ${input.clientMsgId ?? null}
      from counter
      returning *
    ), read_cursor as (
      update ${conversationMembers} set last_read_seq = (select seq from inserted)
      where conversation_id = ${input.conversationId} and member_id = ${input.sender.id} and ${input.sender.type === 'user'}
        and exists (select 1 from inserted)
    )
    select inserted.*, counter.kind as conversation_kind,
      array(select member_id::text from ${conversationMembers}
            where conversation_id = counter.id and member_type = 'agent') as agent_member_ids
    from inserted, counter`);
  const [raw] = (result as unknown as { rows: Array<Record<string, unknown>> }).rows;
  if (!raw) return undefined;
  const row: MessageRow = {
    id: raw.id as string,
    workspaceId: raw.workspace_id as string,
    conversationId: raw.conversation_id as string,
    seq: Number(raw.seq),
    threadRootId: (raw.thread_root_id as string | null) ?? null,
    senderType: raw.sender_type as MessageRow['senderType'],
    senderId: raw.sender_id as string,
    senderHandle: raw.sender_handle as string,
    onBehalfOf: (raw.on_behalf_of as string | null) ?? null,
    content: raw.content as string,
    parts: parseJson(raw.parts) as unknown[],
    status: raw.status as MessageStatus,
    error: (raw.error as string | null) ?? null,
    usage: parseJson(raw.usage) as MessageRow['usage'],
    runId: (raw.run_id as string | null) ?? null,
    clientMsgId: (raw.client_msg_id as string | null) ?? null,
    createdAt: new Date(raw.created_at as string | Date),
    editedAt: raw.edited_at ? new Date(raw.edited_at as string | Date) : null,
  };
  return {
    row,
    conversation: {
      id: row.conversationId,
      workspaceId: row.workspaceId,
      kind: raw.conversation_kind as 'direct' | 'group',
      agentMemberIds: parsePgArray(raw.agent_member_ids),
    },
  };
}

/** A text[] column: node-postgres parses it, PGlite may hand back its `{a,b}` literal. */
function parsePgArray(value: unknown): string[] {
  if (Array.isArray(value)) return value as string[];
  if (typeof value === 'string' && value.length > 2) return value.slice(1, -1).split(',');
  return [];
}

/** Drivers differ: node-postgres parses jsonb, PGlite may hand back text for a CTE's output. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : (value ?? null);
}

/**
 * A person posts to a conversation they belong to (HTTP and WebSocket `send`).
 * Throws not_found when the principal is not a member; see `appendMessage` for the rest.
 */
export async function postMessage(
  deps: MessageDeps,
  principal: Principal,
  conversationId: string,
  input: { content: string; clientMsgId?: string; threadRootId?: string },
): Promise<{ message: PublicMessage; created: boolean }> {
  return appendMessage(deps, {
    workspaceId: principal.workspaceId,
    conversationId,
    sender: { type: 'user', id: principal.userId },
    content: input.content,
    clientMsgId: input.clientMsgId,
    threadRootId: input.threadRootId,
  });
}

async function findByClientMsgId(db: Executor, input: NewMessage): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, input.conversationId),
        eq(messages.senderId, input.sender.id),
        eq(messages.clientMsgId, input.clientMsgId!),
      ),
    );
  return row;
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
