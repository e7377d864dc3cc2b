import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { jobPriority, type JobQueue } from '../../src/jobs/job-queue.ts';

/** A promise and its resolver, to hold a handler deterministically. */
function gate() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: () => resolve() };
}

/** Resolves once `predicate` holds, checking after each `poke()`; rejects after `timeoutMs`. */
function waiter(predicate: () => boolean, timeoutMs = 10_000) {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = setTimeout(() => reject(new Error('condition not reached in time')), timeoutMs);
  const poke = () => {
    if (!predicate()) return;
    clearTimeout(timer);
    resolve();
  };
  return { done: promise, poke };
}

/**
 * The behaviour every JobQueue implementation promises (src/jobs/job-queue.ts), as one suite:
 * `createQueue` makes a fresh queue with its own namespace per call.
 */
export function runJobQueueContract(name: string, createQueue: (options?: { consume?: boolean }) => Promise<JobQueue>): void {
  describe(`job queue contract: ${name}`, () => {
    const open: JobQueue[] = [];
    const fresh = async (options?: { consume?: boolean }) => {
      const queue = await createQueue(options);
      open.push(queue);
      return queue;
    };
    afterEach(async () => {
      for (const queue of open.splice(0)) await queue.close();
    });

    it('runs a job with its data and lists it running with its progress, to its workspace only', async () => {
      const queue = await fresh();
      const hold = gate();
      const started = Promise.withResolvers<unknown>();
      const finished = Promise.withResolvers<void>();
      queue.register<{ pages: number }>({
        kind: 'ingest',
        concurrency: 1,
        attempts: 1,
        backoffMs: 10,
        async handle(data, job) {
          await job.reportProgress(0.5);
          started.resolve(data);
          await hold.promise;
          finished.resolve();
        },
      });
      const workspaceId = randomUUID();
      const id = await queue.enqueue('ingest', { pages: 3 }, { workspaceId });
      assert.deepEqual(await started.promise, { pages: 3 });
      const [running] = await queue.list({ limit: 10, workspaceId });
      assert.equal(running?.id, id);
      assert.equal(running.state, 'running');
      assert.equal(running.kind, 'ingest');
      assert.equal(running.progress, 0.5);
      assert.equal(running.attempts, 1);
      assert.deepEqual(await queue.list({ limit: 10, workspaceId: randomUUID() }), [], 'another workspace sees none of it');
      hold.open();
      await finished.promise;
    });

    it('runs an interactive job queued behind 200 ingestion jobs next', async () => {
      const queue = await fresh();
      const hold = gate();
      const order: string[] = [];
      const seen = waiter(() => order.includes('interactive'), 30_000);
      queue.register<{ name: string }>({
        kind: 'work',
        concurrency: 1,
        attempts: 1,
        backoffMs: 10,
        async handle(data) {
          order.push(data.name);
          seen.poke();
          if (data.name === 'ingest-0') await hold.promise;
        },
      });
      const firstStarted = waiter(() => order.length === 1);
      await queue.enqueue('work', { name: 'ingest-0' }, { priority: jobPriority.bulk });
      const poll = setInterval(firstStarted.poke, 5);
      await firstStarted.done.finally(() => clearInterval(poll));
      for (let index = 1; index < 200; index++)
        await queue.enqueue('work', { name: `ingest-${index}` }, { priority: jobPriority.bulk });
      await queue.enqueue('work', { name: 'interactive' }, { priority: jobPriority.interactive });
      const queued = await queue.list({ limit: 500, states: ['queued'] });
      assert.equal(queued.length, 200);
      hold.open();
      await seen.done;
      assert.deepEqual(order.slice(0, 2), ['ingest-0', 'interactive']);
    });

    it('never runs more jobs of a kind at once than its concurrency', async () => {
      const queue = await fresh();
      let running = 0;
      let most = 0;
      let finished = 0;
      const all = waiter(() => finished === 8);
      queue.register({
        kind: 'capped',
        concurrency: 2,
        attempts: 1,
        backoffMs: 10,
        async handle() {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setTimeout(resolve, 20));
          running--;
          finished++;
          all.poke();
        },
      });
      await Promise.all(Array.from({ length: 8 }, () => queue.enqueue('capped', {})));
      await all.done;
      assert.equal(most, 2);
    });

    it('retries a failing job with exponential backoff, then dead-letters it once', async () => {
      const queue = await fresh();
      const attempts: Array<{ attempt: number; at: number }> = [];
      const deadLettered: Array<{ data: unknown; error: string }> = [];
      const dead = waiter(() => deadLettered.length === 1);
      queue.register<{ documentId: string }>({
        kind: 'flaky',
        concurrency: 1,
        attempts: 3,
        backoffMs: 60,
        async handle(_data, job) {
          attempts.push({ attempt: job.attempt, at: performance.now() });
          throw new Error(`parser exploded on attempt ${job.attempt}`);
        },
        async onDeadLetter(data, error) {
          deadLettered.push({ data, error });
          dead.poke();
        },
      });
      const workspaceId = randomUUID();
      const id = await queue.enqueue('flaky', { documentId: 'd1' }, { workspaceId });
      await dead.done;
      assert.deepEqual(
        attempts.map((entry) => entry.attempt),
        [1, 2, 3],
      );
      assert.ok(attempts[1]!.at - attempts[0]!.at >= 55, 'first retry waits the base delay');
      assert.ok(attempts[2]!.at - attempts[1]!.at >= 115, 'second retry waits twice as long');
      assert.deepEqual(deadLettered, [{ data: { documentId: 'd1' }, error: 'parser exploded on attempt 3' }]);
      const failed = await queue.list({ limit: 10, states: ['failed'], workspaceId });
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.id, id);
      assert.equal(failed[0]!.attempts, 3);
      assert.equal(failed[0]!.maxAttempts, 3);
      assert.equal(failed[0]!.error, 'parser exploded on attempt 3');
    });

    it('runs a job again after retryLater without counting the attempt', async () => {
      const queue = await fresh();
      const attempts: Array<{ attempt: number; at: number }> = [];
      const twice = waiter(() => attempts.length === 2);
      queue.register({
        kind: 'busy',
        concurrency: 1,
        attempts: 1,
        backoffMs: 10,
        async handle(_data, job) {
          attempts.push({ attempt: job.attempt, at: performance.now() });
          twice.poke();
          if (attempts.length === 1) return job.retryLater(80);
        },
      });
      await queue.enqueue('busy', {});
      await twice.done;
      assert.deepEqual(
        attempts.map((entry) => entry.attempt),
        [1, 1],
        'a re-delay is not a failed attempt (attempts: 1 would dead-letter it)',
      );
      assert.ok(attempts[1]!.at - attempts[0]!.at >= 75, 'it waits the delay');
      assert.deepEqual(await queue.list({ limit: 10, states: ['failed'] }), []);
    });

    it('a queue made with consume: false stores jobs and runs none', async () => {
      const queue = await fresh({ consume: false });
      let ran = 0;
      queue.register({
        kind: 'elsewhere',
        concurrency: 1,
        attempts: 1,
        backoffMs: 10,
        async handle() {
          ran++;
        },
      });
      const id = await queue.enqueue('elsewhere', { x: 1 });
      // Nothing to wait for: a job that is never taken. Give a consumer time to (wrongly) take it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(ran, 0);
      assert.deepEqual(
        (await queue.list({ limit: 10 })).map((job) => [job.id, job.state]),
        [[id, 'queued']],
      );
    });
  });
}
