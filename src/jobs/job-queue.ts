import type { JobInfo, JobState } from '../wire/job.ts';

/**
 * Background jobs (SPEC §1): one interface, two implementations beside it —
 * `job-queue.memory.ts` (in-process, embedded and single-node modes) and `job-queue.bullmq.ts`
 * (BullMQ on Redis, distributed mode). Both pass test/jobs/job-queue-contract.ts.
 * See docs/decisions/0010-job-queue.md.
 *
 * Promises of every implementation:
 * - A job runs at least once; a handler must be idempotent (a node that dies mid-job in
 *   distributed mode leaves it to be retried by another worker).
 * - Waiting jobs of a kind start in priority order (lower number first: `jobPriority`), then in
 *   enqueue order; at most `concurrency` jobs of a kind run at once per node.
 * - A queue made with `consume: false` stores jobs and runs none (another node's queue runs them).
 * - A handler that calls `job.retryLater(ms)` ends this attempt without counting it: the job runs
 *   again, on any node, after `ms`.
 * - A handler that throws is retried up to `attempts` times in all, attempt n+1 starting
 *   `backoffMs * 2^(n-1)` ms after attempt n failed; after the last, the job is dead-lettered
 *   (state `failed`, the newest 1,000 kept for admins) and `onDeadLetter` runs once.
 */
export interface JobQueue {
  /**
   * Declares `definition.kind` on this node and, unless the queue was made with `consume: false`
   * (an `api` node, which only enqueues), starts processing it. Register each kind once, before
   * enqueueing it.
   */
  register<Data>(definition: JobDefinition<Data>): void;
  /** Queues a job of a registered kind and resolves to its id once it is stored. `data` must be plain JSON. */
  enqueue<Data>(kind: string, data: Data, options?: EnqueueOptions): Promise<string>;
  /** Jobs waiting (`queued`, also between retries), `running` or dead-lettered (`failed`), newest first. */
  list(filter: JobFilter): Promise<JobInfo[]>;
  /**
   * Stops taking jobs and waits for the running ones. In-process, their handlers see `signal`
   * abort, and a job that fails because of it is neither retried nor dead-lettered (features
   * re-queue from their own records at the next start); with BullMQ they are let finish.
   */
  close(): Promise<void>;
}

/** Lower runs first. Interactive work (agent runs, scheduled runs) goes before ingestion. */
export const jobPriority = { interactive: 1, normal: 10, bulk: 100 } as const;

/** One kind of job and how it runs. */
export interface JobDefinition<Data> {
  kind: string;
  /** Jobs of this kind running at once on one node. */
  concurrency: number;
  /** Attempts in all, the first included (1 = never retried). */
  attempts: number;
  /** Delay before the first retry; each later retry waits twice as long as the one before. */
  backoffMs: number;
  /**
   * Distributed: how long a job whose node died (kill -9) keeps its lock before another node takes
   * it over (ms; it is taken over within about 1.5 × this). Default 30,000. In-process jobs die
   * with their process.
   */
  lockMs?: number;
  /** Does the work; throws to fail this attempt. */
  handle(data: Data, job: JobRun): Promise<void>;
  /** Called once when the last attempt failed, with the last error's message. */
  onDeadLetter?(data: Data, error: string): Promise<void>;
}

/** What a handler knows about the attempt it runs. */
export interface JobRun {
  id: string;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** Records progress (0 to 1) shown by `list`. */
  reportProgress(fraction: number): Promise<void>;
  /** Aborted when the in-process queue closes, or when BullMQ cancels the job. */
  signal: AbortSignal;
  /**
   * Ends this attempt without counting it: the job waits `delayMs` and runs again (on any node).
   * Always rejects: the handler must let the rejection propagate (`return job.retryLater(ms)`).
   */
  retryLater(delayMs: number): Promise<never>;
}

/** Options common to both implementations' constructors. */
export interface JobQueueOptions {
  /** Called when a dead-letter handler throws. */
  onHandlerError?: (error: unknown) => void;
  /** False on a node that only enqueues (`--role api`): registered kinds are not processed here. Default true. */
  consume?: boolean;
}

export interface EnqueueOptions {
  /** `jobPriority.*` or any integer 1–2,000,000; default `jobPriority.normal`. */
  priority?: number;
  /** The workspace the job belongs to: `list` shows a workspace's admins its jobs only. */
  workspaceId?: string;
}

export interface JobFilter {
  /** Only jobs of this workspace. */
  workspaceId?: string;
  states?: JobState[];
  /** Most jobs returned per state and kind. */
  limit: number;
}

export type { JobInfo, JobState };

/** The data stored with every job: the caller's payload and the workspace it belongs to. */
export interface StoredJob<Data = unknown> {
  data: Data;
  workspaceId: string | null;
}

/** Milliseconds before attempt `attempt + 1`, after attempt `attempt` (1-based) failed. */
export function retryDelayMs(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** (attempt - 1);
}

/** A readable message from anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
