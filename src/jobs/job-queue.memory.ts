import { uuidv7 } from 'uuidv7';
import {
  errorMessage,
  jobPriority,
  retryDelayMs,
  type EnqueueOptions,
  type JobDefinition,
  type JobFilter,
  type JobInfo,
  type JobQueue,
  type JobQueueOptions,
} from './job-queue.ts';

interface MemoryJob {
  info: JobInfo;
  data: unknown;
  /** Enqueue order, to keep FIFO within a priority. */
  order: number;
  /** Not before this time (ms since the epoch): set between retries. */
  runAt: number;
}

const deadLetterLimit = 1_000;

/** What `retryLater` rejects with: caught by the queue, never seen by callers. */
class RetryLater extends Error {
  readonly delayMs: number;
  constructor(delayMs: number) {
    super('retry later');
    this.delayMs = delayMs;
  }
}

/**
 * The in-process job queue (embedded and single-node modes): jobs live in memory and are lost
 * when the process stops (the work they stand for is recorded in the database by the features,
 * e.g. a document stays `queued`, and is re-queued at start-up by its feature). Contract in
 * job-queue.ts.
 */
export class MemoryJobQueue implements JobQueue {
  #definitions = new Map<string, JobDefinition<unknown>>();
  #waiting: MemoryJob[] = [];
  #running = new Map<string, { job: MemoryJob; done: Promise<void> }>();
  #runningPerKind = new Map<string, number>();
  #dead: MemoryJob[] = [];
  #order = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #abort = new AbortController();
  #onHandlerError: (error: unknown) => void;
  #consume: boolean;

  constructor(options: JobQueueOptions = {}) {
    this.#onHandlerError = options.onHandlerError ?? (() => {});
    this.#consume = options.consume ?? true;
  }

  register<Data>(definition: JobDefinition<Data>): void {
    if (this.#definitions.has(definition.kind)) throw new Error(`Job kind ${definition.kind} is already registered`);
    this.#definitions.set(definition.kind, definition as JobDefinition<unknown>);
    this.#runningPerKind.set(definition.kind, 0);
  }

  async enqueue<Data>(kind: string, data: Data, options: EnqueueOptions = {}): Promise<string> {
    const definition = this.#definitions.get(kind);
    if (!definition) throw new Error(`Job kind ${kind} is not registered`);
    if (this.#closed) throw new Error('The job queue is closed');
    const id = uuidv7();
    this.#waiting.push({
      info: {
        id,
        kind,
        state: 'queued',
        priority: options.priority ?? jobPriority.normal,
        progress: 0,
        attempts: 0,
        maxAttempts: definition.attempts,
        error: null,
        workspaceId: options.workspaceId ?? null,
        createdAt: new Date().toISOString(),
      },
      data: structuredClone(data),
      order: this.#order++,
      runAt: 0,
    });
    queueMicrotask(() => this.#pump());
    return id;
  }

  async list(filter: JobFilter): Promise<JobInfo[]> {
    const states = new Set(filter.states ?? ['queued', 'running', 'failed']);
    const all = [...this.#waiting, ...[...this.#running.values()].map((entry) => entry.job), ...this.#dead];
    const perBucket = new Map<string, number>();
    return all
      .filter((job) => states.has(job.info.state))
      .filter((job) => filter.workspaceId === undefined || job.info.workspaceId === filter.workspaceId)
      .sort((a, b) => b.order - a.order)
      .filter((job) => {
        const bucket = `${job.info.kind}:${job.info.state}`;
        const count = perBucket.get(bucket) ?? 0;
        perBucket.set(bucket, count + 1);
        return count < filter.limit;
      })
      .map((job) => ({ ...job.info }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('The job queue is closing'));
    await Promise.all([...this.#running.values()].map((entry) => entry.done));
  }

  /** Starts every waiting job that is due and whose kind has a free slot, best priority first. */
  #pump(): void {
    if (this.#closed || !this.#consume) return;
    const now = Date.now();
    this.#waiting.sort((a, b) => a.info.priority - b.info.priority || a.order - b.order);
    let nextDue = Infinity;
    for (const job of [...this.#waiting]) {
      if (job.runAt > now) {
        nextDue = Math.min(nextDue, job.runAt);
        continue;
      }
      const definition = this.#definitions.get(job.info.kind)!;
      const running = this.#runningPerKind.get(job.info.kind)!;
      if (running >= definition.concurrency) continue;
      this.#waiting.splice(this.#waiting.indexOf(job), 1);
      this.#runningPerKind.set(job.info.kind, running + 1);
      this.#running.set(job.info.id, { job, done: this.#run(definition, job) });
    }
    clearTimeout(this.#timer);
    if (nextDue !== Infinity) this.#timer = setTimeout(() => this.#pump(), Math.max(0, nextDue - now));
  }

  async #run(definition: JobDefinition<unknown>, job: MemoryJob): Promise<void> {
    job.info.state = 'running';
    job.info.attempts++;
    try {
      await definition.handle(job.data, {
        id: job.info.id,
        attempt: job.info.attempts,
        maxAttempts: job.info.maxAttempts,
        reportProgress: async (fraction) => {
          job.info.progress = Math.min(1, Math.max(0, fraction));
        },
        signal: this.#abort.signal,
        retryLater: (delayMs) => Promise.reject(new RetryLater(delayMs)),
      });
      this.#running.delete(job.info.id);
    } catch (error) {
      this.#running.delete(job.info.id);
      if (error instanceof RetryLater && !this.#closed) {
        job.info.attempts--;
        job.info.state = 'queued';
        job.runAt = Date.now() + error.delayMs;
        this.#waiting.push(job);
        return;
      }
      job.info.error = errorMessage(error);
      // Aborted by close(): neither retried nor dead-lettered here; the feature's own records re-queue it at the next start.
      if (this.#closed) return;
      if (job.info.attempts < job.info.maxAttempts) {
        job.info.state = 'queued';
        job.runAt = Date.now() + retryDelayMs(definition.backoffMs, job.info.attempts);
        this.#waiting.push(job);
      } else {
        job.info.state = 'failed';
        this.#dead.push(job);
        if (this.#dead.length > deadLetterLimit) this.#dead.shift();
        await definition.onDeadLetter?.(job.data, job.info.error).catch(this.#onHandlerError);
      }
    } finally {
      this.#runningPerKind.set(job.info.kind, this.#runningPerKind.get(job.info.kind)! - 1);
      this.#pump();
    }
  }
}
