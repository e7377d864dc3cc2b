import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { jobPriority, type JobQueue } from '../jobs/job-queue.ts';
import type { QueuedRun, RunExecutor, RunQueue } from './run-queue.ts';

/** The job kind that drains one mailbox. */
export const runJobKind = 'agent.run';

/** Renews the lease while its holder lives (compare-and-expire). */
const renewScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Releases the lease only when it is still ours (compare-and-delete). */
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

interface RunJobData {
  mailbox: string;
}

/** Tunables; the defaults are what production uses. */
export interface RedisRunQueueOptions<Local> {
  redis: Redis;
  jobs: JobQueue;
  /** Namespaces the mailbox keys (`<prefix>:mailbox:<key>`), like the job queue's keys. */
  prefix: string;
  execute: RunExecutor<Local>;
  onError: (error: unknown) => void;
  /** How long a dead node holds a mailbox (ms): the lease TTL, renewed every third of it. Default 10,000. */
  leaseMs?: number;
  /** How long a job waits before trying a busy mailbox again (ms). Default 250. */
  busyRetryMs?: number;
  /** Mailboxes drained at once per node. Default 100. */
  concurrency?: number;
}

/**
 * The shared run queue (distributed mode). A mailbox is a sorted set in Redis (run id and depth,
 * scored by `order`); every `submit` adds to it and enqueues an `agent.run` job naming the mailbox
 * (interactive priority) on the BullMQ job queue, which any consuming node takes. The job takes the
 * mailbox's lease (`SET NX PX`, renewed while it runs, released by compare-and-delete), then
 * executes the mailbox's runs lowest `order` first, each removed once executed, until the set is
 * empty. A job that finds the lease taken, or whose executor defers the first run, waits 250 ms and tries again (`retryLater`), so a run
 * submitted while another node drains is either taken by that drain or by its own job: none is
 * stranded. A node killed mid-run leaves its job to BullMQ's stalled check (lock 10 s) and its
 * lease to expire (10 s): another node then executes the same run again, which the executor
 * recognises by its row (`running`). Contract in run-queue.ts; docs/decisions/0018.
 */
export class RedisRunQueue<Local = unknown> implements RunQueue<Local> {
  #redis: Redis;
  #jobs: JobQueue;
  #prefix: string;
  #execute: RunExecutor<Local>;
  #onError: (error: unknown) => void;
  #leaseMs: number;
  #busyRetryMs: number;
  #closed = false;

  constructor(options: RedisRunQueueOptions<Local>) {
    this.#redis = options.redis;
    this.#jobs = options.jobs;
    this.#prefix = options.prefix;
    this.#execute = options.execute;
    this.#onError = options.onError;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#busyRetryMs = options.busyRetryMs ?? 250;
    this.#jobs.register<RunJobData>({
      kind: runJobKind,
      concurrency: options.concurrency ?? 100,
      attempts: 5,
      backoffMs: 500,
      lockMs: this.#leaseMs,
      handle: (data, job) => this.#drain(data.mailbox, job.retryLater),
    });
  }

  startsAtOnce(): boolean {
    return false;
  }

  async submit(mailbox: string, run: QueuedRun<Local>): Promise<void> {
    await this.#redis.zadd(this.#key(mailbox), run.order, memberOf(run));
    await this.#enqueueDrain(mailbox);
  }

  close(): void {
    this.#closed = true;
  }

  /**
   * Puts `runs` back in `mailbox` (the re-queue sweep: a Redis that restarted empty lost them and
   * their jobs) and enqueues a drain for it, unless a drain holds the mailbox now (that drain
   * executes everything in the set; if it was just ending, the next sweep enqueues one). Safe to
   * repeat: a run still in the set stays there once (same member, `NX`), and a run executed since
   * it was read is skipped by the executor (its row is no longer `queued`). Returns whether a
   * drain was enqueued.
   */
  async resubmit(mailbox: string, runs: Array<Pick<QueuedRun, 'runId' | 'order' | 'depth'>>): Promise<boolean> {
    if (runs.length === 0) return false;
    const members = runs.flatMap((run) => [run.order, memberOf(run)]);
    await this.#redis.zadd(this.#key(mailbox), 'NX', ...members);
    if ((await this.#redis.exists(this.#leaseKey(mailbox))) === 1) return false;
    await this.#enqueueDrain(mailbox);
    return true;
  }

  /** An `agent.run` job that drains `mailbox` (interactive priority). */
  async #enqueueDrain(mailbox: string): Promise<void> {
    await this.#jobs.enqueue<RunJobData>(runJobKind, { mailbox }, { priority: jobPriority.interactive });
  }

  async #drain(mailbox: string, retryLater: (delayMs: number) => Promise<never>): Promise<void> {
    if (this.#closed) return retryLater(this.#busyRetryMs);
    const leaseKey = this.#leaseKey(mailbox);
    const token = randomUUID();
    if ((await this.#redis.set(leaseKey, token, 'PX', this.#leaseMs, 'NX')) !== 'OK') return retryLater(this.#busyRetryMs);
    const renew = setInterval(
      () => {
        this.#redis.eval(renewScript, 1, leaseKey, token, this.#leaseMs).then(
          (renewed) => {
            if (renewed !== 1) this.#onError(new Error(`the lease of mailbox ${mailbox} expired while its runs executed`));
          },
          (error: unknown) => this.#onError(error),
        );
      },
      Math.floor(this.#leaseMs / 3),
    );
    // Set when the drain stops with runs left (stopping, or the first run deferred): the job is
    // delayed after the lease is released, so another node's job can take the mailbox meanwhile.
    let retry = false;
    try {
      for (;;) {
        const [member, score] = await this.#redis.zrange(this.#key(mailbox), '0', '0', 'WITHSCORES');
        if (member === undefined) break;
        // Stopping: the rest stays queued, and this job waits for another node.
        if (this.#closed) {
          retry = true;
          break;
        }
        const { runId, depth } = JSON.parse(member) as { runId: string; depth: number };
        const outcome = await this.#execute({ runId, depth, order: Number(score) }).catch(this.#onError);
        // An earlier trigger's run is on its way: this one stays first, and the mailbox is tried again.
        if (outcome === 'deferred') {
          retry = true;
          break;
        }
        await this.#redis.zrem(this.#key(mailbox), member);
      }
    } finally {
      clearInterval(renew);
      await this.#redis.eval(releaseScript, 1, leaseKey, token).catch(this.#onError);
    }
    if (retry) return retryLater(this.#busyRetryMs);
  }

  #key(mailbox: string): string {
    return `${this.#prefix}:mailbox:${mailbox}`;
  }

  #leaseKey(mailbox: string): string {
    return `${this.#key(mailbox)}:lease`;
  }
}

/** A run's member in its mailbox's sorted set (the score is its `order`). */
function memberOf(run: Pick<QueuedRun, 'runId' | 'depth'>): string {
  return JSON.stringify({ runId: run.runId, depth: run.depth });
}
