import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Principal } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Executor } from '../db/database.ts';
import { messages, runs, type RunStatus } from '../db/schema.ts';
import { notFound } from '../errors/app-error.ts';
import type { RunStep } from '../chain/run-step.ts';
import type { PublicRun } from '../wire/run.ts';
import type { ResumeState } from '../chain/run-pause.ts';
import type { ReplyPerspective } from '../chain/build-context.ts';
import type { RunJob, RunOutput } from './run-agent.ts';
import { getAgentRow } from '../agents/agents.ts';
import { toPublicMessage, type MessagePart, type MessageUsage, type PublicMessage } from '../messages/message-shape.ts';

/** A `runs` row as stored. */
export type RunRow = typeof runs.$inferSelect;

/** The API shape of a stored run. */
export function toPublicRun(row: RunRow): PublicRun {
  return {
    id: row.id,
    conversationId: row.conversationId,
    agentId: row.agentId,
    triggerMessageId: row.triggerMessageId,
    messageId: row.messageId,
    status: row.status,
    steps: row.steps as RunStep[],
    usage: (row.usage as MessageUsage | null) ?? null,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** What a new run row holds: who answers what, and (a binding's run) for whom and where the reply goes. */
export type NewRun = Pick<
  RunRow,
  | 'id'
  | 'workspaceId'
  | 'conversationId'
  | 'agentId'
  | 'onBehalfOf'
  | 'depth'
  | 'bindingId'
  | 'perspectiveUserId'
  | 'perspectiveSystem'
  | 'perspectiveClosingTurn'
  | 'output'
> & { triggerMessageId: string };

/**
 * Inserts a run for `agentId` answering `triggerMessageId`: `queued`, or already `running` with its
 * first steps when it starts at once (its mailbox is idle), which saves the claim's round trip.
 */
export async function insertRun(db: Executor, input: NewRun, start?: { steps: RunStep[] }): Promise<RunRow> {
  const [row] = await db
    .insert(runs)
    .values(start ? { ...input, status: 'running', steps: start.steps, startedAt: new Date() } : { ...input, status: 'queued' })
    .returning();
  return row;
}

/**
 * The mailbox a run waits in (run-queue.ts): `conversationId:agentId`, and for a run written
 * from a person's side (a binding's) `:perspectiveUserId`, so each person's runs queue apart.
 */
export function mailboxOf(run: Pick<RunRow, 'conversationId' | 'agentId' | 'perspectiveUserId'>): string {
  return `${run.conversationId}:${run.agentId}${run.perspectiveUserId ? `:${run.perspectiveUserId}` : ''}`;
}

/** A run waiting `queued`, as the re-queue sweep submits it again: its mailbox, place (the trigger's seq) and depth. */
export interface StaleQueuedRun {
  runId: string;
  mailbox: string;
  order: number;
  depth: number;
}

/**
 * Runs `queued` since before `olderThan` (oldest first, at most `limit`), with what their queue
 * needs: the runs a lost queue (Redis restarted empty) would strand. Reads the partial index on
 * queued runs, so the cost follows the runs waiting, not the table.
 */
export async function findStaleQueuedRuns(db: Executor, olderThan: Date, limit: number): Promise<StaleQueuedRun[]> {
  const rows = await db
    .select({
      id: runs.id,
      conversationId: runs.conversationId,
      agentId: runs.agentId,
      perspectiveUserId: runs.perspectiveUserId,
      depth: runs.depth,
      seq: messages.seq,
    })
    .from(runs)
    .innerJoin(messages, eq(messages.id, runs.triggerMessageId))
    .where(and(eq(runs.status, 'queued'), lt(runs.createdAt, olderThan)))
    .orderBy(asc(runs.createdAt))
    .limit(limit);
  return rows.map((row) => ({ runId: row.id, mailbox: mailboxOf(row), order: row.seq, depth: row.depth }));
}

/** The run of `agentId` for `triggerMessageId`, if one was already requested. */
export async function findRunByTrigger(db: Executor, triggerMessageId: string, agentId: string): Promise<RunRow | undefined> {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.triggerMessageId, triggerMessageId), eq(runs.agentId, agentId)));
  return row;
}

/** The run by id without access checks (internal callers). */
export async function getRunRow(db: Executor, runId: string): Promise<RunRow | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.id, runId));
  return row;
}

/**
 * The run if the principal may see it; not_found otherwise (SPEC §7). A conversation's run: any
 * member. A run whose reply is private (an `output` other than the conversation message, e.g.
 * advice): only the person it writes for, from the moment it is requested (docs/agents.md).
 */
export async function getRunForPrincipal(db: Executor, principal: Principal, runId: string): Promise<RunRow> {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.id, runId), eq(runs.workspaceId, principal.workspaceId)));
  if (!row || (row.output !== null && row.perspectiveUserId !== principal.userId)) throw notFound('Run');
  try {
    await requireMembership(db, principal.workspaceId, row.conversationId, principal.userId);
  } catch {
    throw notFound('Run');
  }
  return row;
}

/** Moves a run from `queued` to `running` with its first steps. Returns false when it was no longer queued. */
export async function claimQueuedRun(db: Executor, runId: string, steps: RunStep[]): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({ status: 'running', steps, startedAt: new Date() })
    .where(and(eq(runs.id, runId), eq(runs.status, 'queued')))
    .returning({ id: runs.id });
  return updated.length === 1;
}

/** Whether a run cancelled while queued already has its `cancelled` reply message. */
export async function cancelledReplyRecorded(db: Executor, runId: string): Promise<boolean> {
  const [row] = await db.select({ messageId: runs.messageId }).from(runs).where(eq(runs.id, runId));
  return row?.messageId != null;
}

/** Stores the `cancelled` reply message of a run cancelled while queued on its row. */
export async function setCancelledReply(db: Executor, runId: string, messageId: string): Promise<void> {
  await db
    .update(runs)
    .set({ messageId })
    .where(and(eq(runs.id, runId), eq(runs.status, 'cancelled')));
}

/**
 * The id of the `streaming` message carrying a running run's reply, if it exists yet: a run's
 * `messageId` is stored when it finishes, so `GET /runs/:id` of a running run reads it here
 * (through the partial index on streaming messages) instead of every run paying a write for it.
 */
export async function findStreamingReplyId(db: Executor, run: Pick<RunRow, 'id' | 'conversationId'>): Promise<string | null> {
  const [row] = await db
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.status, 'streaming'), eq(messages.runId, run.id), eq(messages.conversationId, run.conversationId)))
    .limit(1);
  return row?.id ?? null;
}

/** Stores a running run's steps so far (before a step that takes time, so `GET /runs/:id` shows progress). */
export async function saveRunSteps(db: Executor, runId: string, steps: RunStep[]): Promise<void> {
  await db
    .update(runs)
    .set({ steps })
    .where(and(eq(runs.id, runId), eq(runs.status, 'running')));
}

/** Moves a running run to `waiting` (paused for a person) with what it needs to resume. */
export async function pauseRunRow(
  db: Executor,
  runId: string,
  paused: { steps: RunStep[]; resumeState: object; messageId: string; usage: MessageUsage },
): Promise<void> {
  await db
    .update(runs)
    .set({
      status: 'waiting',
      steps: paused.steps,
      resumeState: paused.resumeState as Record<string, unknown>,
      messageId: paused.messageId,
      usage: paused.usage as Record<string, unknown>,
    })
    .where(and(eq(runs.id, runId), eq(runs.status, 'running')));
}

/** A person's answer to a paused run, stored with its resume state (`answer`) until it resumes. */
type ResumeAnswer = Pick<NonNullable<RunJob['resume']>, 'approval' | 'humanAnswer'>;

/**
 * Moves a `waiting` run back to `queued` to resume it with `answer`, once; the answer is stored in
 * its resume state, so whichever node executes it reads it there. Returns the row, undefined when
 * it was no longer waiting (already resumed, cancelled, expired).
 */
export async function requeueWaitingRun(db: Executor, runId: string, answer: ResumeAnswer): Promise<RunRow | undefined> {
  const [row] = await db
    .update(runs)
    .set({ status: 'queued', resumeState: sql`${runs.resumeState} || ${JSON.stringify({ answer })}::jsonb` })
    .where(and(eq(runs.id, runId), eq(runs.status, 'waiting')))
    .returning();
  return row;
}

/** How a stored run resumes (its steps so far, where to continue, the person's answer), or undefined for a fresh run. */
function storedResume(row: RunRow): RunJob['resume'] {
  if (!row.resumeState) return undefined;
  const { answer, ...state } = row.resumeState as { answer?: ResumeAnswer };
  return { steps: row.steps as RunStep[], state: state as unknown as ResumeState, ...answer };
}

/**
 * The run to execute for a stored run row: its agent, trigger, perspective and output (as stored
 * when it was requested) and, for a paused run, resume state. `output` is the run's output as its
 * registered restorer rebuilt it, when it has one. Throws not_found when the agent was deleted.
 */
export async function loadRunJob(db: Executor, row: RunRow, output: RunOutput | undefined): Promise<RunJob> {
  const agent = await getAgentRow(db, row.workspaceId, row.agentId);
  const [triggerRow] = await db.select().from(messages).where(eq(messages.id, row.triggerMessageId!));
  const resume = storedResume(row);
  const perspective = storedPerspective(row);
  return {
    run: row,
    agent,
    trigger: toPublicMessage(triggerRow!),
    ...(perspective ? { perspective } : {}),
    ...(output ? { output } : {}),
    ...(resume ? { resume } : {}),
  };
}

/** The perspective stored on a run row (a binding's run), or undefined for an agent's own reply. */
function storedPerspective(row: RunRow): ReplyPerspective | undefined {
  if (!row.perspectiveUserId || row.perspectiveSystem === null) return undefined;
  return {
    userId: row.perspectiveUserId,
    system: row.perspectiveSystem,
    ...(row.perspectiveClosingTurn ? { closingTurn: row.perspectiveClosingTurn } : {}),
  };
}

/** Sets a run's final status once: only a run still `queued`, `running` or `waiting` changes (resume state dropped). Returns whether it did. */
export async function finishRunRow(
  db: Executor,
  runId: string,
  final: { status: RunStatus; steps?: RunStep[]; usage?: MessageUsage | null; error?: string | null; messageId?: string },
): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({
      ...final,
      usage: final.usage as Record<string, unknown> | null | undefined,
      resumeState: null,
      finishedAt: new Date(),
    })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running', 'waiting'])))
    .returning({ id: runs.id });
  return updated.length === 1;
}

/** Cancels a run that has not started yet or is paused for a person. Returns false when it was neither `queued` nor `waiting`. */
export async function cancelQueuedRun(db: Executor, runId: string): Promise<boolean> {
  const updated = await db
    .update(runs)
    .set({ status: 'cancelled', resumeState: null, finishedAt: new Date() })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'waiting'])))
    .returning({ id: runs.id });
  return updated.length === 1;
}

/**
 * Writes a message's final state once: only a message still `streaming` changes, so a late
 * writer (cancel racing the natural end, recovery) cannot overwrite it. Returns the stored
 * message when this call set it, undefined when another writer already had.
 */
export async function finishMessage(
  db: Executor,
  messageId: string,
  final: {
    content: string;
    parts?: MessagePart[];
    status: 'complete' | 'failed' | 'cancelled' | 'interrupted';
    error: string | null;
    usage: MessageUsage | null;
  },
): Promise<PublicMessage | undefined> {
  const [row] = await db
    .update(messages)
    .set({ ...final, usage: final.usage as Record<string, unknown> | null })
    .where(and(eq(messages.id, messageId), eq(messages.status, 'streaming')))
    .returning();
  return row ? toPublicMessage(row) : undefined;
}

const interruptedError = 'The server stopped while this reply was being written';

/**
 * Start-up recovery for one-node modes: every message left `streaming` and every run left
 * `queued` or `running` by a process that died becomes `interrupted`. Returns the messages changed.
 */
export async function markAbandonedRunsInterrupted(db: Executor): Promise<PublicMessage[]> {
  const rows = await db
    .update(messages)
    .set({ status: 'interrupted', error: interruptedError })
    .where(eq(messages.status, 'streaming'))
    .returning();
  await db
    .update(runs)
    .set({ status: 'interrupted', error: interruptedError, finishedAt: sql`coalesce(${runs.finishedAt}, now())` })
    .where(inArray(runs.status, ['queued', 'running']));
  // A run stores its message id when it finishes; these never did.
  const replies = rows.filter((row) => row.runId !== null);
  if (replies.length > 0) {
    const values = sql.join(
      replies.map((row) => sql`(${row.runId}::uuid, ${row.id}::uuid)`),
      sql`, `,
    );
    await db.execute(
      sql`update ${runs} set message_id = v.message_id from (values ${values}) as v(run_id, message_id) where ${runs.id} = v.run_id and ${runs.messageId} is null`,
    );
  }
  return rows.map(toPublicMessage);
}
