import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import type { Db } from '../db/database.ts';
import { messages } from '../db/schema.ts';
import type { AttachmentStorage } from './attachment-storage.ts';
import { toPart, type AttachmentPart } from './attachments.ts';
import { attachments } from './schema.ts';

/** The attachment ids named by a message's `parts` (other part types are ignored). */
export function attachmentIdsOf(parts: readonly unknown[]): string[] {
  return parts.flatMap((part) => {
    const candidate = part as Partial<AttachmentPart> | null;
    return candidate?.type === 'attachment' && typeof candidate.attachmentId === 'string' ? [candidate.attachmentId] : [];
  });
}

/**
 * Copies the attachments among `parts` (of conversation `fromConversationId`) into
 * `toConversationId` as new uploads of the principal: new ids, the bytes and thumbnail copied in
 * storage, so members of the target can download them without being members of the source and a
 * later delete of either message leaves the other intact. Returns `parts` with each attachment part
 * replaced by its copy (other parts unchanged). Missing attachments are dropped from the result.
 */
export async function copyAttachments(
  deps: { db: Db; attachmentStorage: AttachmentStorage },
  principal: Principal,
  parts: readonly unknown[],
  fromConversationId: string,
  toConversationId: string,
): Promise<unknown[]> {
  const ids = attachmentIdsOf(parts);
  if (ids.length === 0) return [...parts];
  const rows = await deps.db
    .select()
    .from(attachments)
    .where(
      and(
        inArray(attachments.id, ids),
        eq(attachments.workspaceId, principal.workspaceId),
        eq(attachments.conversationId, fromConversationId),
      ),
    );
  const copies = new Map<string, AttachmentPart>();
  for (const row of rows) {
    const id = uuidv7();
    const storageKey = `${principal.workspaceId}/${id}`;
    const thumbnailKey = row.thumbnailKey ? `${storageKey}.thumb` : null;
    if (row.thumbnailKey && thumbnailKey)
      await deps.attachmentStorage.put(thumbnailKey, await deps.attachmentStorage.get(row.thumbnailKey), 'image/webp');
    await deps.attachmentStorage.put(storageKey, await deps.attachmentStorage.get(row.storageKey), row.contentType);
    const [copy] = await deps.db
      .insert(attachments)
      .values({
        ...row,
        id,
        conversationId: toConversationId,
        uploaderId: principal.userId,
        storageKey,
        thumbnailKey,
        createdAt: new Date(),
      })
      .returning();
    copies.set(row.id, toPart(copy));
  }
  return parts.flatMap((part) => {
    const [id] = attachmentIdsOf([part]);
    if (id === undefined) return [part];
    const copy = copies.get(id);
    return copy ? [copy] : [];
  });
}

/**
 * Removes the attachments named by `parts` of a deleted message of `conversationId` (rows, bytes
 * and thumbnails) unless another message of that conversation that is not deleted still names
 * them. Best effort after the delete committed: bytes whose removal fails stay orphaned in storage
 * (their row is gone, so nobody can download them).
 */
export async function releaseAttachments(
  deps: { db: Db; attachmentStorage: AttachmentStorage },
  workspaceId: string,
  conversationId: string,
  deletedMessageId: string,
  parts: readonly unknown[],
): Promise<void> {
  for (const id of attachmentIdsOf(parts)) {
    const [stillUsed] = await deps.db
      .select({ id: messages.id })
      .from(messages)
      .where(
        and(
          eq(messages.conversationId, conversationId),
          ne(messages.id, deletedMessageId),
          isNull(messages.deletedAt),
          sql`${messages.parts} @> ${JSON.stringify([{ attachmentId: id }])}::jsonb`,
        ),
      )
      .limit(1);
    if (stillUsed) continue;
    const [removed] = await deps.db
      .delete(attachments)
      .where(
        and(eq(attachments.id, id), eq(attachments.workspaceId, workspaceId), eq(attachments.conversationId, conversationId)),
      )
      .returning();
    if (!removed) continue;
    await deps.attachmentStorage.delete(removed.storageKey);
    if (removed.thumbnailKey) await deps.attachmentStorage.delete(removed.thumbnailKey);
  }
}
