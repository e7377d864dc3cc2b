import { and, asc, eq, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { getAgentRow } from '../agents/agents.ts';
import type { Principal } from '../auth/auth-service.ts';
import type { EventBus } from '../bus/event-bus.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Db, Executor } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import { getUser } from '../users/users.ts';
import type { BindingOptions, BindingPauseState, PublicBinding } from '../wire/binding.ts';
import { announceBindingChange } from './binding-cache.ts';
import { bindingPauses, bindings } from './schema.ts';

/** A `bindings` row as stored. */
export type BindingRow = typeof bindings.$inferSelect;

/** What binding CRUD needs: storage and the bus (changes are announced so every node's cache drops them). */
export interface BindingDeps {
  db: Db;
  bus: EventBus;
}

/** The API shape of a stored binding. */
export function toPublicBinding(row: BindingRow): PublicBinding {
  return {
    id: row.id,
    conversationId: row.conversationId,
    userId: row.userId,
    agentId: row.agentId,
    mode: row.mode,
    enabled: row.enabled,
    onlyWhenAway: row.onlyWhenAway,
    delaySeconds: row.delaySeconds,
    instructions: row.instructions,
    dailyMessageBudget: row.dailyMessageBudget,
    usedToday: row.usageDay === utcDay() ? row.usageCount : 0,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Today's date in UTC, `YYYY-MM-DD` (the budget's day). */
export function utcDay(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * Binds one of the workspace's agents to a conversation for the principal. Throws not_found (not a
 * member of the conversation, an agent of another workspace) and conflict (the principal already
 * has a binding of this mode in this conversation; details carry its id).
 */
export async function createBinding(
  deps: BindingDeps,
  principal: Principal,
  conversationId: string,
  input: BindingOptions & { agentId: string; mode: 'autoreply' | 'advice' },
): Promise<PublicBinding> {
  await requireMembership(deps.db, principal.workspaceId, conversationId, principal.userId);
  await getAgentRow(deps.db, principal.workspaceId, input.agentId);
  let row: BindingRow;
  try {
    [row] = await deps.db
      .insert(bindings)
      .values({ id: uuidv7(), workspaceId: principal.workspaceId, conversationId, userId: principal.userId, ...input })
      .returning();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const existing = await findOwnBinding(deps.db, principal, conversationId, input.mode);
    throw new AppError('conflict', `You already have an ${input.mode} binding in this conversation`, {
      details: { bindingId: existing?.id },
    });
  }
  await announceBindingChange(deps.bus, conversationId);
  return toPublicBinding(row);
}

/** The principal's own bindings in a conversation they belong to (others' are never listed). Throws not_found. */
export async function listBindings(db: Executor, principal: Principal, conversationId: string): Promise<PublicBinding[]> {
  await requireMembership(db, principal.workspaceId, conversationId, principal.userId);
  const rows = await db
    .select()
    .from(bindings)
    .where(and(eq(bindings.conversationId, conversationId), eq(bindings.userId, principal.userId)))
    .orderBy(asc(bindings.createdAt));
  return rows.map(toPublicBinding);
}

/** Changes the principal's binding. Throws not_found (someone else's binding, another conversation). */
export async function updateBinding(
  deps: BindingDeps,
  principal: Principal,
  conversationId: string,
  bindingId: string,
  input: BindingOptions,
): Promise<PublicBinding> {
  const [row] = await deps.db
    .update(bindings)
    .set({ ...input, updatedAt: new Date() })
    .where(ownBinding(principal, conversationId, bindingId))
    .returning();
  if (!row) throw notFound('Binding');
  await announceBindingChange(deps.bus, conversationId);
  return toPublicBinding(row);
}

/** Deletes the principal's binding (its advice stays, unlinked). Throws not_found. */
export async function deleteBinding(
  deps: BindingDeps,
  principal: Principal,
  conversationId: string,
  bindingId: string,
): Promise<void> {
  const deleted = await deps.db
    .delete(bindings)
    .where(ownBinding(principal, conversationId, bindingId))
    .returning({ id: bindings.id });
  if (deleted.length === 0) throw notFound('Binding');
  await announceBindingChange(deps.bus, conversationId);
}

/** The principal's binding of `mode` in the conversation, if any. */
export async function findOwnBinding(
  db: Executor,
  principal: Principal,
  conversationId: string,
  mode: 'autoreply' | 'advice',
): Promise<BindingRow | undefined> {
  const [row] = await db
    .select()
    .from(bindings)
    .where(
      and(
        eq(bindings.workspaceId, principal.workspaceId),
        eq(bindings.conversationId, conversationId),
        eq(bindings.userId, principal.userId),
        eq(bindings.mode, mode),
      ),
    );
  return row;
}

function ownBinding(principal: Principal, conversationId: string, bindingId: string) {
  return and(
    eq(bindings.id, bindingId),
    eq(bindings.workspaceId, principal.workspaceId),
    eq(bindings.conversationId, conversationId),
    eq(bindings.userId, principal.userId),
  );
}

/**
 * Pauses (or resumes) every binding of `userId` at once: the user themselves, or an owner/admin of
 * their workspace. Idempotent. Throws not_found (a user of another workspace) and forbidden.
 */
export async function setBindingsPaused(
  deps: BindingDeps,
  principal: Principal,
  userId: string,
  paused: boolean,
): Promise<BindingPauseState> {
  await requireKillSwitchAccess(deps.db, principal, userId);
  if (paused) {
    await deps.db
      .insert(bindingPauses)
      .values({ userId, workspaceId: principal.workspaceId, pausedBy: principal.userId })
      .onConflictDoNothing();
  } else {
    await deps.db.delete(bindingPauses).where(eq(bindingPauses.userId, userId));
  }
  return getBindingsPause(deps.db, principal, userId);
}

/** Whether `userId`'s bindings are paused (same access as `setBindingsPaused`). */
export async function getBindingsPause(db: Executor, principal: Principal, userId: string): Promise<BindingPauseState> {
  await requireKillSwitchAccess(db, principal, userId);
  const [row] = await db.select().from(bindingPauses).where(eq(bindingPauses.userId, userId));
  return { userId, paused: !!row, pausedBy: row?.pausedBy ?? null, pausedAt: row?.pausedAt.toISOString() ?? null };
}

async function requireKillSwitchAccess(db: Executor, principal: Principal, userId: string): Promise<void> {
  await getUser(db, principal.workspaceId, userId);
  if (userId === principal.userId) return;
  const actor = await getUser(db, principal.workspaceId, principal.userId);
  if (actor.role === 'member') throw new AppError('forbidden', "Only the user or an admin can pause a user's bindings");
}

/** True when the user's bindings are paused. */
export async function isPaused(db: Executor, userId: string): Promise<boolean> {
  const rows = await db
    .select({ one: sql`1` })
    .from(bindingPauses)
    .where(eq(bindingPauses.userId, userId));
  return rows.length > 0;
}
