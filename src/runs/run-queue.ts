/**
 * Where agent runs wait for their turn (SPEC §6): one interface, two implementations beside it —
 * `run-queue.memory.ts` (in-process mailboxes: embedded and single-node modes) and
 * `run-queue.redis.ts` (distributed: every run is a BullMQ job on any worker, ordered by a
 * per-mailbox lease in Redis). Both pass test/runs/run-queue-contract.ts. See
 * docs/decisions/0018-agent-runs-as-jobs.md.
 *
 * Promises of every implementation:
 * - A mailbox (`conversationId:agentId[:perspectiveUserId]`) executes one run at a time — across
 *   every node sharing the queue — in `order` (callers submit in that order); other mailboxes
 *   never wait on it.
 * - Every run submitted is executed at least once. Shared: a node that dies mid-run leaves the run
 *   to be executed again on another node, so the executor must recognise a run it already started.
 * - An executor that throws does not stop its mailbox (the error goes to `onError`).
 * - Shared only: an executor that answers `deferred` leaves the run first in its mailbox and the
 *   mailbox is tried again shortly (a run of an earlier trigger is still on its way, see
 *   trigger-order.ts); runs submitted meanwhile with a lower `order` execute before it.
 */
export interface RunQueue<Local = unknown> {
  /**
   * True when a run submitted to `mailbox` now would start at once in this process, so the caller
   * may skip storing it `queued` first (the embedded fast path). Always false for a shared queue.
   */
  startsAtOnce(mailbox: string): boolean;
  /** Queues `run` in `mailbox`; resolves once it is stored (shared) or queued (in-process). */
  submit(mailbox: string, run: QueuedRun<Local>): Promise<void>;
  /**
   * Shared: stops taking runs on this node (those not started stay queued for another node; the
   * one executing finishes first). In-process: nothing (the executor still sees every queued run,
   * and ends it `interrupted` while its process stops).
   */
  close(): void;
}

/** One run waiting in a mailbox. */
export interface QueuedRun<Local = unknown> {
  runId: string;
  /** Its place in the mailbox: lower runs first (the trigger message's seq). */
  order: number;
  /** The agent-to-agent chain depth of the reply (0 when a person's message triggered it). */
  depth: number;
  /**
   * In-process only: what the executor needs, handed over as is. A shared queue keeps only the
   * fields above, and its executor loads the run from the database.
   */
  local?: Local;
}

/**
 * Executes one run of the queue (its lifetime is the run's: the mailbox waits for it). A shared
 * queue's executor may answer `deferred` instead (see `RunQueue`); an in-process queue's never does.
 */
export type RunExecutor<Local = unknown> = (run: QueuedRun<Local>) => Promise<void | 'deferred'>;
