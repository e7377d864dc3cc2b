import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Principal } from '../auth/auth-service.ts';
import { conversationTopic, type EventBus } from '../bus/event-bus.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Db, Executor } from '../db/database.ts';
import { conversations, messages, users } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import { releaseAttachments } from '../attachments/attachment-lifecycle.ts';
import type { AttachmentStorage } from '../attachments/attachment-storage.ts';
import { messageReactions } from './schema.ts';
import { toPublicMessage, type MessageRow, type PublicMessage } from '../messages/message-shape.ts';

/** What changing a message needs: the store, the bus, the content limit of a send. */
export interface ChangeDeps {
  db: Db;
  bus: EventBus;
  maxMessageBytes: number;
}

/** What deleting a message needs: also the attachment storage (its attachments go with it). */
export interface DeleteDeps extends ChangeDeps {
  attachmentStorage: AttachmentStorage;
}

type Columns = Partial<Record<keyof MessageRow, unknown>>;

/**
 * Applies `columns` to one message and stamps it with the conversation's next `updatedSeq`, in one
 * transaction (the conversation row is locked first, as appends lock it, so changes of a
 * conversation are serialized and never deadlock with appends). Returns the changed row.
 */
export async function stampChange(
  tx: Executor,
  row: MessageRow,
  columns: Columns | ((updatedSeq: number) => Columns),
): Promise<MessageRow> {
  const [counter] = await tx
    .update(conversations)
    .set({ lastUpdatedSeq: sql`${conversations.lastUpdatedSeq} + 1` })
    .where(and(eq(conversations.id, row.conversationId), eq(conversations.workspaceId, row.workspaceId)))
    .returning({ updatedSeq: conversations.lastUpdatedSeq });
  const updatedSeq = counter.updatedSeq;
  const set = typeof columns === 'function' ? columns(updatedSeq) : columns;
  const [changed] = await tx
    .update(messages)
    .set({ ...(set as object), updatedSeq })
    .where(eq(messages.id, row.id))
    .returning();
  return changed;
}

/** Publishes `message.updated {message}` on the message's conversation topic. */
export async function publishUpdated(bus: EventBus, message: PublicMessage): Promise<void> {
  await bus.publish(conversationTopic(message.conversationId), { type: 'message.updated', message });
}

/**
 * The message `messageId` as the principal may see it: in the principal's workspace, in a
 * conversation the principal is a member of. Throws not_found otherwise (another workspace, a
 * conversation the principal left or never joined).
 */
export async function findVisibleMessage(db: Executor, principal: Principal, messageId: string): Promise<MessageRow> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.workspaceId, principal.workspaceId)));
  if (!row) throw new AppError('not_found', 'Message not found');
  try {
    await requireMembership(db, principal.workspaceId, row.conversationId, principal.userId);
  } catch {
    throw new AppError('not_found', 'Message not found');
  }
  return row;
}

/**
 * The sender replaces a message's content; `editedAt` is set and `message.updated` goes out. The
 * edit never triggers an agent (an agent's prompt message edited does not rerun it).
 * Throws not_found (not visible), forbidden (not the sender), conflict (deleted),
 * payload_too_large (content over the send limit).
 */
export async function editMessage(
  deps: ChangeDeps,
  principal: Principal,
  messageId: string,
  content: string,
): Promise<PublicMessage> {
  if (Buffer.byteLength(content, 'utf8') > deps.maxMessageBytes) {
    throw new AppError('payload_too_large', `Message content exceeds ${deps.maxMessageBytes} bytes`);
  }
  const changed = await deps.db.transaction(async (tx) => {
    const row = await findVisibleMessage(tx, principal, messageId);
    if (row.senderType !== 'user' || row.senderId !== principal.userId)
      throw new AppError('forbidden', 'Only the sender may edit a message');
    if (row.deletedAt) throw new AppError('conflict', 'A deleted message cannot be edited');
    return stampChange(tx, row, { content, editedAt: new Date() });
  });
  const message = toPublicMessage(changed);
  await publishUpdated(deps.bus, message);
  return message;
}

/**
 * Turns a message into a tombstone: content '' and parts [], reactions removed, `deletedAt` set,
 * seq kept; `message.updated` goes out (and the thread root's reply count drops). Its attachments
 * are removed (rows and bytes) unless another live message of the conversation names them. Allowed to the
 * sender and to the workspace's admins and owners, all as members of the conversation. Deleting
 * a tombstone again returns it unchanged. Throws not_found, forbidden, conflict (still streaming).
 */
export async function deleteMessage(deps: DeleteDeps, principal: Principal, messageId: string): Promise<PublicMessage> {
  const result = await deps.db.transaction(async (tx) => {
    const row = await findVisibleMessage(tx, principal, messageId);
    const isSender = row.senderType === 'user' && row.senderId === principal.userId;
    if (!isSender && !(await isWorkspaceAdmin(tx, principal)))
      throw new AppError('forbidden', 'Only the sender or a workspace admin may delete a message');
    if (row.deletedAt) return { row, changed: false, parts: [] };
    if (row.status === 'streaming') throw new AppError('conflict', 'A message still streaming cannot be deleted; cancel its run');
    await tx.delete(messageReactions).where(eq(messageReactions.messageId, row.id));
    const deleted = await stampChange(tx, row, { content: '', parts: [], reactions: [], deletedAt: new Date() });
    return { row: deleted, changed: true, parts: row.parts };
  });
  const message = toPublicMessage(result.row);
  if (!result.changed) return message;
  await publishUpdated(deps.bus, message);
  await releaseAttachments(deps, principal.workspaceId, message.conversationId, message.id, result.parts);
  if (message.threadRootId) await refreshThreadRoot(deps, message.conversationId, message.threadRootId);
  return message;
}

async function isWorkspaceAdmin(db: Executor, principal: Principal): Promise<boolean> {
  const [user] = await db
    .select({ role: users.role })
    .from(users)
    .where(and(eq(users.id, principal.userId), eq(users.workspaceId, principal.workspaceId)));
  return user?.role === 'owner' || user?.role === 'admin';
}

/**
 * Recounts a thread root's replies (not deleted) and latest reply time, stamps the root and
 * publishes `message.updated` for it. Counting rather than incrementing keeps the count right even
 * after a crash between a reply's commit and this call: the next reply repairs it.
 */
export async function refreshThreadRoot(
  deps: Pick<ChangeDeps, 'db' | 'bus'>,
  conversationId: string,
  rootId: string,
): Promise<void> {
  const changed = await deps.db.transaction(async (tx) => {
    const [root] = await tx
      .select()
      .from(messages)
      .where(and(eq(messages.id, rootId), eq(messages.conversationId, conversationId)));
    if (!root) return undefined;
    const replies = (where: SQL) =>
      sql`(select ${where} from messages r where r.thread_root_id = ${rootId} and r.conversation_id = ${conversationId} and r.deleted_at is null)`;
    return stampChange(tx, root, {
      replyCount: sql`${replies(sql`count(*)::int`)}`,
      lastReplyAt: sql`${replies(sql`max(r.created_at)`)}`,
    });
  });
  if (changed) await publishUpdated(deps.bus, toPublicMessage(changed));
}
