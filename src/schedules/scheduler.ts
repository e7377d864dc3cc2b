import { and, eq, isNotNull, lte, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { getAgentRow } from '../agents/agents.ts';
import type { AppContext } from '../http/context.ts';
import { jobPriority, type JobDefinition } from '../jobs/job-queue.ts';
import { postMessage } from '../messages/messages.ts';
import type { RunService } from '../runs/run-service.ts';
import { nextOccurrence } from './cron.ts';
import { schedules } from './schema.ts';

/** The job kind that fires one occurrence of a schedule. */
const fireJobKind = 'schedule.fire';
interface FireJobData {
  scheduleId: string;
  workspaceId: string;
  /** The occurrence fired (ms since the epoch): part of the prompt's clientMsgId, so a retried job posts it once. */
  occurrenceMs: number;
}

/** The scheduler's handle, for tests and shutdown. */
export interface Scheduler {
  /** Claims and queues every schedule due at `now`; resolves to how many it claimed. */
  tick(now?: Date): Promise<number>;
}

/**
 * Claims the schedules due at `now` (not paused, `next_run_at <= now`): each claim moves
 * `next_run_at` to the first occurrence after `now` and sets `last_fired_at`, by compare-and-set on
 * the `next_run_at` it read. However many nodes tick, and however many occurrences were missed
 * while no node ran, each claim wins once: a schedule fires at most once per tick, once after
 * downtime. Resolves to the claims won.
 */
export async function claimDueSchedules(db: AppContext['db'], now: Date): Promise<FireJobData[]> {
  const due = await db
    .select()
    .from(schedules)
    .where(and(eq(schedules.paused, false), isNotNull(schedules.nextRunAt), lte(schedules.nextRunAt, now)))
    .limit(100);
  const claimed: FireJobData[] = [];
  for (const row of due) {
    let next: Date | null;
    try {
      next = nextOccurrence(row.cron, row.timezone, now);
    } catch {
      next = null; // validated at creation; a time zone dropped from the runtime's data stops it
    }
    const [won] = await db
      .update(schedules)
      .set({ nextRunAt: next, lastFiredAt: now })
      // Compared at millisecond precision: a JavaScript Date has no microseconds, a timestamptz may.
      .where(and(eq(schedules.id, row.id), eq(sql`date_trunc('milliseconds', ${schedules.nextRunAt})`, row.nextRunAt!)))
      .returning({ id: schedules.id });
    if (won) claimed.push({ scheduleId: row.id, workspaceId: row.workspaceId, occurrenceMs: row.nextRunAt!.getTime() });
  }
  return claimed;
}

/**
 * Fires one claimed occurrence: posts the prompt as the schedule creator's message (clientMsgId
 * `schedule:<id>:<occurrence>`, so a retry posts it once) and requests the agent's reply to it,
 * which the agent then streams into the conversation like any reply. A schedule deleted or paused
 * meanwhile does nothing. Throws not_found when the creator left the conversation or the agent
 * was deleted (then retried and dead-lettered).
 */
function fireJob(context: AppContext, runs: RunService): JobDefinition<FireJobData> {
  return {
    kind: fireJobKind,
    concurrency: 4,
    attempts: 3,
    backoffMs: context.config.jobs.retryBaseDelayMs,
    async handle(data) {
      const [schedule] = await context.db
        .select()
        .from(schedules)
        .where(and(eq(schedules.id, data.scheduleId), eq(schedules.workspaceId, data.workspaceId)));
      if (!schedule || schedule.paused) return;
      const agent = await getAgentRow(context.db, schedule.workspaceId, schedule.agentId);
      const principal = { userId: schedule.createdBy, workspaceId: schedule.workspaceId };
      const { message } = await postMessage(context, principal, schedule.conversationId, {
        content: schedule.prompt,
        clientMsgId: `schedule:${schedule.id}:${data.occurrenceMs}`,
      });
      // The reply trigger may already have queued it (a direct conversation): requestReply finds that run.
      await runs.requestReply({ agent, trigger: message });
    },
  };
}

/**
 * Starts the scheduler: the fire job kind, and a tick every `config.jobs.schedulerTickMs` from
 * the moment the app is ready (the first tick at once, which fires what was missed while no node
 * ran) until it closes.
 */
export function startScheduler(app: FastifyInstance, context: AppContext, runs: RunService): Scheduler {
  context.jobs.register(fireJob(context, runs));
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<number> | undefined;
  const scheduler: Scheduler = {
    async tick(now = new Date()) {
      const claims = await claimDueSchedules(context.db, now);
      for (const claim of claims) {
        await context.jobs.enqueue(fireJobKind, claim, { priority: jobPriority.interactive, workspaceId: claim.workspaceId });
      }
      return claims.length;
    },
  };
  const run = () => {
    ticking ??= scheduler
      .tick()
      .catch((error: unknown) => {
        context.logger.error({ err: error }, 'scheduler tick failed');
        return 0;
      })
      .finally(() => (ticking = undefined));
  };
  app.addHook('onReady', async () => {
    run();
    timer = setInterval(run, context.config.jobs.schedulerTickMs);
    timer.unref();
  });
  app.addHook('preClose', async () => {
    clearInterval(timer);
    await ticking;
  });
  return scheduler;
}
