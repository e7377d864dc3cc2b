import { and, eq, inArray, ne } from 'drizzle-orm';
import type { Executor } from '../db/database.ts';
import { conversationMembers, conversations } from '../db/schema.ts';

/**
 * The ids of the conversations `userId` belongs to in `workspaceId` (what a connection follows).
 * Read straight from the store: the same membership the HTTP routes and `sync` check.
 */
export async function listConversationIds(db: Executor, workspaceId: string, userId: string): Promise<string[]> {
  const rows = await db
    .select({ id: conversationMembers.conversationId })
    .from(conversationMembers)
    .where(and(eq(conversationMembers.memberId, userId), eq(conversationMembers.workspaceId, workspaceId)));
  return rows.map((row) => row.id);
}

/** `lastSeq` of each given conversation (ids that do not exist are absent). */
export async function loadLastSeqs(db: Executor, conversationIds: readonly string[]): Promise<Map<string, number>> {
  if (conversationIds.length === 0) return new Map();
  const rows = await db
    .select({ id: conversations.id, lastSeq: conversations.lastSeq })
    .from(conversations)
    .where(inArray(conversations.id, [...conversationIds]));
  return new Map(rows.map((row) => [row.id, row.lastSeq]));
}

/** The users (not agents) other than `userId` who share at least one of `conversationIds`, deduplicated. */
export async function listCoMembers(db: Executor, userId: string, conversationIds: readonly string[]): Promise<string[]> {
  if (conversationIds.length === 0) return [];
  const rows = await db
    .selectDistinct({ id: conversationMembers.memberId })
    .from(conversationMembers)
    .where(
      and(
        inArray(conversationMembers.conversationId, [...conversationIds]),
        eq(conversationMembers.memberType, 'user'),
        ne(conversationMembers.memberId, userId),
      ),
    );
  return rows.map((row) => row.id);
}
