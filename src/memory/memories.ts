import { and, desc, eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import type { Db, Executor } from '../db/database.ts';
import { notFound } from '../errors/app-error.ts';
import { memories } from './schema.ts';
import type { PublicMemory } from '../wire/memory.ts';

/** Facts loaded into one run's context at most. */
const maxLoadedFacts = 50;

type MemoryRow = typeof memories.$inferSelect;

function toPublicMemory(row: MemoryRow): PublicMemory {
  return {
    id: row.id,
    agentId: row.agentId,
    content: row.content,
    sourceMessageId: row.sourceMessageId,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The newest facts `agentId` keeps about `userId` (at most 50), oldest first. */
export async function loadFacts(
  db: Executor,
  owner: { workspaceId: string; agentId: string; userId: string },
): Promise<string[]> {
  const rows = await db
    .select({ content: memories.content })
    .from(memories)
    .where(
      and(eq(memories.workspaceId, owner.workspaceId), eq(memories.agentId, owner.agentId), eq(memories.userId, owner.userId)),
    )
    .orderBy(desc(memories.createdAt), desc(memories.id))
    .limit(maxLoadedFacts);
  return rows.map((row) => row.content).reverse();
}

/** Stores facts not already kept (exact text, case-insensitive). Returns the facts stored. */
export async function saveFacts(
  db: Db,
  owner: { workspaceId: string; agentId: string; userId: string },
  facts: string[],
  sourceMessageId: string,
): Promise<string[]> {
  const known = new Set((await loadFacts(db, owner)).map((fact) => fact.toLowerCase()));
  const fresh = [...new Set(facts.map((fact) => fact.trim()).filter((fact) => fact !== '' && !known.has(fact.toLowerCase())))];
  if (fresh.length === 0) return [];
  await db.insert(memories).values(fresh.map((content) => ({ id: uuidv7(), ...owner, content, sourceMessageId })));
  return fresh;
}

/** The principal's own memories, newest first, optionally of one agent. */
export async function listMemories(db: Executor, principal: Principal, agentId?: string): Promise<PublicMemory[]> {
  const rows = await db
    .select()
    .from(memories)
    .where(
      and(
        eq(memories.workspaceId, principal.workspaceId),
        eq(memories.userId, principal.userId),
        agentId ? eq(memories.agentId, agentId) : undefined,
      ),
    )
    .orderBy(desc(memories.createdAt), desc(memories.id));
  return rows.map(toPublicMemory);
}

/** Deletes one of the principal's own memories; not_found for anyone else's (or none). */
export async function deleteMemory(db: Executor, principal: Principal, memoryId: string): Promise<void> {
  const deleted = await db
    .delete(memories)
    .where(and(eq(memories.id, memoryId), eq(memories.workspaceId, principal.workspaceId), eq(memories.userId, principal.userId)))
    .returning({ id: memories.id });
  if (deleted.length === 0) throw notFound('Memory');
}
