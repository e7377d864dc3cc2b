import { and, desc, eq, inArray } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import type { Executor } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import { getUser } from '../users/users.ts';
import type { PublicKnowledgeBase } from '../wire/knowledge.ts';
import { knowledgeBases } from './schema.ts';

type KnowledgeBaseRow = typeof knowledgeBases.$inferSelect;

function toPublic(row: KnowledgeBaseRow): PublicKnowledgeBase {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    description: row.description,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Creates a knowledge base in the caller's workspace. Throws conflict when the name (case-insensitive) is taken. */
export async function createKnowledgeBase(
  db: Executor,
  principal: Principal,
  input: { name: string; description?: string },
): Promise<PublicKnowledgeBase> {
  try {
    const [row] = await db
      .insert(knowledgeBases)
      .values({
        id: uuidv7(),
        workspaceId: principal.workspaceId,
        name: input.name,
        description: input.description ?? '',
        createdBy: principal.userId,
      })
      .returning();
    return toPublic(row!);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'A knowledge base with this name already exists');
    throw error;
  }
}

/** The workspace's knowledge bases, newest first. Every member sees them all. */
export async function listKnowledgeBases(db: Executor, principal: Principal): Promise<PublicKnowledgeBase[]> {
  const rows = await db
    .select()
    .from(knowledgeBases)
    .where(eq(knowledgeBases.workspaceId, principal.workspaceId))
    .orderBy(desc(knowledgeBases.createdAt));
  return rows.map(toPublic);
}

/** One knowledge base of `workspaceId`; not_found otherwise (also another workspace's). */
export async function getKnowledgeBase(db: Executor, workspaceId: string, id: string): Promise<PublicKnowledgeBase> {
  const [row] = await db
    .select()
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.workspaceId, workspaceId), eq(knowledgeBases.id, id)));
  if (!row) throw notFound('Knowledge base');
  return toPublic(row);
}

/** Renames or re-describes a knowledge base (its creator or an admin). Throws not_found, forbidden, conflict. */
export async function updateKnowledgeBase(
  db: Executor,
  principal: Principal,
  id: string,
  input: { name?: string; description?: string },
): Promise<PublicKnowledgeBase> {
  await checkCanManage(db, principal, await getKnowledgeBase(db, principal.workspaceId, id));
  try {
    const [row] = await db
      .update(knowledgeBases)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        updatedAt: new Date(),
      })
      .where(and(eq(knowledgeBases.workspaceId, principal.workspaceId), eq(knowledgeBases.id, id)))
      .returning();
    return toPublic(row!);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'A knowledge base with this name already exists');
    throw error;
  }
}

/** Deletes a knowledge base with its documents and chunks (its creator or an admin). Throws not_found, forbidden. */
export async function deleteKnowledgeBase(db: Executor, principal: Principal, id: string): Promise<void> {
  await checkCanManage(db, principal, await getKnowledgeBase(db, principal.workspaceId, id));
  await db.delete(knowledgeBases).where(and(eq(knowledgeBases.workspaceId, principal.workspaceId), eq(knowledgeBases.id, id)));
}

/**
 * Checks that every id names a knowledge base of `workspaceId` (for an agent's `knowledgeBaseIds`).
 * Throws invalid_request naming the first that does not.
 */
export async function checkKnowledgeBaseIds(db: Executor, workspaceId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const rows = await db
    .select({ id: knowledgeBases.id })
    .from(knowledgeBases)
    .where(and(eq(knowledgeBases.workspaceId, workspaceId), inArray(knowledgeBases.id, [...ids])));
  const found = new Set(rows.map((row) => row.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing) {
    throw new AppError('invalid_request', `Knowledge base ${missing} does not exist in this workspace`, {
      details: [{ path: 'knowledgeBaseIds', message: 'unknown knowledge base' }],
    });
  }
}

async function checkCanManage(db: Executor, principal: Principal, base: PublicKnowledgeBase): Promise<void> {
  if (base.createdBy === principal.userId) return;
  const user = await getUser(db, principal.workspaceId, principal.userId);
  if (user.role === 'member') throw new AppError('forbidden', 'Only the creator or an admin can change this knowledge base');
}
