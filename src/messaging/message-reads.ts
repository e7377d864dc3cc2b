import { and, asc, eq, gt, lte } from 'drizzle-orm';
import type { Principal } from '../auth/auth-service.ts';
import type { Executor } from '../db/database.ts';
import { messages } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import { toPublicMessage, type PublicMessage } from '../messages/message-shape.ts';
import { findVisibleMessage } from './message-changes.ts';

/**
 * The messages of a conversation changed (edited, deleted, reacted to, replied to) after the
 * change counter `updatedAfter`, ascending by `updatedSeq`, at most `limit`, optionally only those
 * with `seq <= maxSeq` (newer ones a caller replays anyway). Each appears once, in its current
 * state. The caller has checked membership. `hasMore` says whether more changes follow the page.
 */
export async function readUpdatedMessages(
  db: Executor,
  conversationId: string,
  page: { updatedAfter: number; maxSeq?: number; limit: number },
): Promise<{ items: PublicMessage[]; hasMore: boolean }> {
  const rows = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        gt(messages.updatedSeq, page.updatedAfter),
        page.maxSeq !== undefined ? lte(messages.seq, page.maxSeq) : undefined,
      ),
    )
    .orderBy(asc(messages.updatedSeq))
    .limit(page.limit + 1);
  return { items: rows.slice(0, page.limit).map(toPublicMessage), hasMore: rows.length > page.limit };
}

/**
 * A thread: its root and a page of its replies ascending by seq after `afterSeq` (tombstones
 * included, so the page has no holes). Throws not_found (root not visible to the principal),
 * invalid_request (the message is itself a reply).
 */
export async function listThread(
  db: Executor,
  principal: Principal,
  rootId: string,
  page: { afterSeq?: number; limit: number },
): Promise<{ root: PublicMessage; items: PublicMessage[]; hasMore: boolean }> {
  const root = await findVisibleMessage(db, principal, rootId);
  if (root.threadRootId) throw new AppError('invalid_request', 'This message is a reply; its thread is under its threadRootId');
  const rows = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.threadRootId, rootId),
        eq(messages.conversationId, root.conversationId),
        page.afterSeq !== undefined ? gt(messages.seq, page.afterSeq) : undefined,
      ),
    )
    .orderBy(asc(messages.seq))
    .limit(page.limit + 1);
  return {
    root: toPublicMessage(root),
    items: rows.slice(0, page.limit).map(toPublicMessage),
    hasMore: rows.length > page.limit,
  };
}
