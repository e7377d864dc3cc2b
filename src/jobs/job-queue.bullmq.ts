import { DelayedError, Queue, Worker, type Job, type JobType } from 'bullmq';
import { Redis } from 'ioredis';
import {
  errorMessage,
  jobPriority,
  type EnqueueOptions,
  type JobDefinition,
  type JobFilter,
  type JobInfo,
  type JobQueue,
  type JobQueueOptions,
  type JobState,
  type StoredJob,
} from './job-queue.ts';

const deadLetterLimit = 1_000;
const statesOf: Record<JobState, JobType[]> = {
  queued: ['waiting', 'prioritized', 'delayed'],
  running: ['active'],
  failed: ['failed'],
};

/**
 * BullMQ on Redis (distributed mode): one BullMQ queue per kind (`<prefix>:<kind>:…` keys), one
 * worker per kind and node with the kind's concurrency. Retries use BullMQ's exponential backoff
 * (`backoffMs * 2^(attempt-1)`, the same as the in-process queue); dead-lettered jobs are BullMQ's
 * `failed` jobs (the newest 1,000 kept). A job whose worker died is retried by BullMQ's stalled-job
 * check on another worker. Contract in job-queue.ts.
 */
export class BullMqJobQueue implements JobQueue {
  #connection: Redis;
  #prefix: string;
  #queues = new Map<string, Queue>();
  #definitions = new Map<string, JobDefinition<never>>();
  #workers: Worker[] = [];
  #workerConnections: Redis[] = [];
  #onHandlerError: (error: unknown) => void;
  #consume: boolean;

  /** `prefix` namespaces every key (tests use a random one per test). */
  constructor(redisUrl: string, options: JobQueueOptions & { prefix?: string } = {}) {
    // BullMQ's blocking commands need a connection that never gives up retrying.
    this.#connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.#prefix = options.prefix ?? 'chorus';
    this.#onHandlerError = options.onHandlerError ?? (() => {});
    this.#consume = options.consume ?? true;
  }

  register<Data>(definition: JobDefinition<Data>): void {
    if (this.#queues.has(definition.kind)) throw new Error(`Job kind ${definition.kind} is already registered`);
    this.#definitions.set(definition.kind, definition as JobDefinition<never>);
    const options = { connection: this.#connection, prefix: this.#prefix };
    this.#queues.set(definition.kind, new Queue(definition.kind, options));
    if (!this.#consume) return;
    const lockDuration = definition.lockMs ?? 30_000;
    const worker = new Worker(
      definition.kind,
      async (job: Job<StoredJob<Data>>, token, signal) => {
        await definition.handle(job.data.data, {
          id: job.id!,
          attempt: job.attemptsMade + 1,
          maxAttempts: definition.attempts,
          reportProgress: (fraction) => job.updateProgress(Math.min(1, Math.max(0, fraction))),
          signal: signal ?? new AbortController().signal,
          // BullMQ's way to re-delay an active job: move it to `delayed` under its lock, then throw DelayedError.
          retryLater: async (delayMs) => {
            await job.moveToDelayed(Date.now() + delayMs, token);
            throw new DelayedError();
          },
        });
      },
      {
        ...options,
        connection: this.#workerConnection(),
        concurrency: definition.concurrency,
        lockDuration,
        // A dead node's jobs are found by the next stalled check after their lock expires.
        stalledInterval: Math.min(30_000, Math.ceil(lockDuration / 2)),
      },
    );
    worker.on('failed', (job, error) => {
      if (!job || job.attemptsMade < definition.attempts) return;
      definition.onDeadLetter?.(job.data.data, errorMessage(error)).catch(this.#onHandlerError);
    });
    worker.on('error', this.#onHandlerError);
    this.#workers.push(worker);
  }

  async enqueue<Data>(kind: string, data: Data, options: EnqueueOptions = {}): Promise<string> {
    const queue = this.#queues.get(kind);
    if (!queue) throw new Error(`Job kind ${kind} is not registered`);
    const definition = this.#definitions.get(kind)!;
    const stored: StoredJob<Data> = { data, workspaceId: options.workspaceId ?? null };
    const job = await queue.add(kind, stored, {
      priority: options.priority ?? jobPriority.normal,
      attempts: definition.attempts,
      backoff: { type: 'exponential', delay: definition.backoffMs },
      removeOnComplete: true,
      removeOnFail: { count: deadLetterLimit },
    });
    return job.id!;
  }

  async list(filter: JobFilter): Promise<JobInfo[]> {
    const states = filter.states ?? (['queued', 'running', 'failed'] as JobState[]);
    const found: Array<JobInfo & { order: number }> = [];
    for (const [kind, queue] of this.#queues) {
      for (const state of states) {
        // Another workspace's jobs are filtered here, so read a wider window than `limit`.
        const jobs = await queue.getJobs(statesOf[state], 0, filter.workspaceId ? filter.limit * 10 : filter.limit - 1, false);
        let kept = 0;
        for (const job of jobs as Array<Job<StoredJob>>) {
          if (!job || kept >= filter.limit) continue;
          if (filter.workspaceId !== undefined && job.data.workspaceId !== filter.workspaceId) continue;
          kept++;
          found.push({
            id: job.id!,
            kind,
            state,
            priority: job.opts.priority ?? jobPriority.normal,
            progress: typeof job.progress === 'number' ? job.progress : 0,
            attempts: state === 'running' ? job.attemptsMade + 1 : job.attemptsMade,
            maxAttempts: job.opts.attempts ?? 1,
            error: job.failedReason || null,
            workspaceId: job.data.workspaceId,
            createdAt: new Date(job.timestamp).toISOString(),
            order: job.timestamp,
          });
        }
      }
    }
    return found.sort((a, b) => b.order - a.order).map(({ order: _order, ...info }) => info);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.close()));
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    await Promise.all([this.#connection, ...this.#workerConnections].map((connection) => connection.quit()));
  }

  /** Each worker blocks on its own connection; BullMQ leaves connections it was given open, so they are closed here. */
  #workerConnection(): Redis {
    const connection = this.#connection.duplicate();
    this.#workerConnections.push(connection);
    return connection;
  }
}
