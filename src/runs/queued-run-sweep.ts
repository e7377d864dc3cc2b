import type { Logger } from 'pino';
import type { Executor } from '../db/database.ts';
import type { RedisRunQueue } from './run-queue.redis.ts';
import { findStaleQueuedRuns, type StaleQueuedRun } from './run-store.ts';

/** Most runs one sweep submits again (the rest wait for the next sweep). */
const sweepBatch = 500;

/** A running re-queue sweep. */
export interface QueuedRunSweep {
  /** One sweep now (what the timer runs): resolves with the number of runs found waiting too long (each submitted again). */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * The re-queue sweep of a consuming node in distributed mode (docs/decisions/0018): at start and
 * every `afterMs / 2`, runs `queued` for longer than `afterMs` go back to their mailboxes in the
 * shared queue (`RedisRunQueue.resubmit`, idempotent), so a Redis that restarted empty — losing
 * mailboxes and jobs — strands no run. Runs that merely wait behind a long run in a busy mailbox
 * are found too; submitting them again changes nothing.
 */
export function startQueuedRunSweep(
  deps: { db: Executor; logger: Logger },
  queue: Pick<RedisRunQueue, 'resubmit'>,
  afterMs: number,
): QueuedRunSweep {
  let running: Promise<number> | undefined;
  const sweep = () =>
    (running ??= sweepOnce(deps.db, queue, afterMs)
      .catch((error: unknown) => {
        deps.logger.error({ err: error }, 're-queueing waiting agent runs failed');
        return 0;
      })
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void sweep(), Math.floor(afterMs / 2));
  timer.unref();
  void sweep();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

async function sweepOnce(db: Executor, queue: Pick<RedisRunQueue, 'resubmit'>, afterMs: number): Promise<number> {
  const stale = await findStaleQueuedRuns(db, new Date(Date.now() - afterMs), sweepBatch);
  const byMailbox = new Map<string, StaleQueuedRun[]>();
  for (const run of stale) {
    const runs = byMailbox.get(run.mailbox);
    if (runs) runs.push(run);
    else byMailbox.set(run.mailbox, [run]);
  }
  for (const [mailbox, runs] of byMailbox) await queue.resubmit(mailbox, runs);
  return stale.length;
}
