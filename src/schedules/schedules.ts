import { and, desc, eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { getAgentRow } from '../agents/agents.ts';
import type { Principal } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Executor } from '../db/database.ts';
import { conversationMembers } from '../db/schema.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import { getUser } from '../users/users.ts';
import { nextOccurrence } from './cron.ts';
import { schedules } from './schema.ts';
import type { PublicSchedule } from '../wire/schedule.ts';

type ScheduleRow = typeof schedules.$inferSelect;

export function toPublicSchedule(row: ScheduleRow): PublicSchedule {
  return {
    id: row.id,
    agentId: row.agentId,
    conversationId: row.conversationId,
    createdBy: row.createdBy,
    cron: row.cron,
    timezone: row.timezone,
    prompt: row.prompt,
    paused: row.paused,
    nextRunAt: row.nextRunAt?.toISOString() ?? null,
    lastFiredAt: row.lastFiredAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** What a new schedule says: which agent answers what, where and when. */
export interface ScheduleInput {
  agentId: string;
  conversationId: string;
  cron: string;
  /** IANA time zone the cron expression is read in; default UTC. */
  timezone?: string;
  prompt: string;
}

/**
 * Creates a schedule owned by the caller: at each occurrence of `cron` (in `timezone`) the prompt
 * is posted in the conversation as the caller's message and the agent answers it. The caller must
 * be a member of the conversation (not_found otherwise) and the agent one of its members
 * (invalid_request); the agent must be of the workspace (not_found); a bad expression or time zone
 * is invalid_request.
 */
export async function createSchedule(db: Executor, principal: Principal, input: ScheduleInput): Promise<PublicSchedule> {
  const timezone = input.timezone ?? 'UTC';
  const nextRunAt = nextOccurrence(input.cron, timezone, new Date());
  await getAgentRow(db, principal.workspaceId, input.agentId);
  await requireMembership(db, principal.workspaceId, input.conversationId, principal.userId);
  const [agentMember] = await db
    .select({ id: conversationMembers.memberId })
    .from(conversationMembers)
    .where(and(eq(conversationMembers.conversationId, input.conversationId), eq(conversationMembers.memberId, input.agentId)));
  if (!agentMember) throw new AppError('invalid_request', 'The agent is not a member of this conversation; add it first');
  const [row] = await db
    .insert(schedules)
    .values({
      id: uuidv7(),
      workspaceId: principal.workspaceId,
      agentId: input.agentId,
      conversationId: input.conversationId,
      createdBy: principal.userId,
      cron: input.cron,
      timezone,
      prompt: input.prompt,
      nextRunAt,
    })
    .returning();
  return toPublicSchedule(row!);
}

/** The workspace's schedules the caller created (admins: all of the workspace's), newest first. */
export async function listSchedules(db: Executor, principal: Principal): Promise<PublicSchedule[]> {
  const user = await getUser(db, principal.workspaceId, principal.userId);
  const mine = user.role === 'member' ? eq(schedules.createdBy, principal.userId) : undefined;
  const rows = await db
    .select()
    .from(schedules)
    .where(and(eq(schedules.workspaceId, principal.workspaceId), mine))
    .orderBy(desc(schedules.createdAt));
  return rows.map(toPublicSchedule);
}

/**
 * Pauses or resumes a schedule (its creator or an admin). Resuming computes the next occurrence
 * from now: occurrences missed while paused are skipped. Throws not_found, forbidden.
 */
export async function setSchedulePaused(
  db: Executor,
  principal: Principal,
  id: string,
  paused: boolean,
): Promise<PublicSchedule> {
  const current = await manageable(db, principal, id);
  const [row] = await db
    .update(schedules)
    .set(paused ? { paused } : { paused, nextRunAt: nextOccurrence(current.cron, current.timezone, new Date()) })
    .where(eq(schedules.id, id))
    .returning();
  return toPublicSchedule(row!);
}

/** Deletes a schedule (its creator or an admin). Throws not_found, forbidden. */
export async function deleteSchedule(db: Executor, principal: Principal, id: string): Promise<void> {
  await manageable(db, principal, id);
  await db.delete(schedules).where(eq(schedules.id, id));
}

async function manageable(db: Executor, principal: Principal, id: string): Promise<ScheduleRow> {
  const [row] = await db
    .select()
    .from(schedules)
    .where(and(eq(schedules.workspaceId, principal.workspaceId), eq(schedules.id, id)));
  if (!row) throw notFound('Schedule');
  if (row.createdBy !== principal.userId) {
    const user = await getUser(db, principal.workspaceId, principal.userId);
    if (user.role === 'member') throw notFound('Schedule');
  }
  return row;
}
