import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BullMqJobQueue } from '../../src/jobs/job-queue.bullmq.ts';
import { MemoryRunQueue } from '../../src/runs/run-queue.memory.ts';
import { RedisRunQueue } from '../../src/runs/run-queue.redis.ts';
import type { RunQueue } from '../../src/runs/run-queue.ts';
import { runRunQueueContract, type RunQueueCluster } from './run-queue-contract.ts';

const onError = () => {};

runRunQueueContract('in-process mailboxes', async () => ({
  maxNodes: 1,
  node: (execute) => new MemoryRunQueue(execute, onError),
  close: async () => {},
}));

const redisUrl = process.env.TEST_REDIS_URL;

/** Nodes sharing a random prefix: each its own Redis client and BullMQ queue; the keys are deleted at the end. */
function redisCluster(url: string): RunQueueCluster {
  const prefix = `chorus-test-${randomBytes(6).toString('hex')}`;
  const nodes: Array<{ redis: Redis; jobs: BullMqJobQueue; queue: RunQueue }> = [];
  return {
    maxNodes: 3,
    node(execute) {
      const redis = new Redis(url);
      const jobs = new BullMqJobQueue(url, { prefix });
      const queue = new RedisRunQueue({ redis, jobs, prefix, execute, onError });
      nodes.push({ redis, jobs, queue });
      return queue;
    },
    async close() {
      for (const node of nodes) {
        node.queue.close();
        await node.jobs.close();
      }
      const keys = await nodes[0]!.redis.keys(`${prefix}:*`);
      if (keys.length > 0) await nodes[0]!.redis.del(...keys);
      for (const node of nodes) await node.redis.quit();
    },
  };
}

if (redisUrl) {
  runRunQueueContract('BullMQ jobs with a mailbox lease in Redis', async () => redisCluster(redisUrl));
}

describe('shared run queue: a deferred run', { skip: redisUrl ? false : 'needs TEST_REDIS_URL' }, () => {
  it('stays first in its mailbox and runs after a lower-order run submitted meanwhile', async () => {
    const cluster = redisCluster(redisUrl!);
    try {
      const mailbox = `m-${randomBytes(4).toString('hex')}`;
      const executed: string[] = [];
      let attempts = 0;
      let earlierSubmitted = false;
      const node = cluster.node(async (run) => {
        if (run.runId === 'later' && !earlierSubmitted) {
          attempts++;
          return 'deferred';
        }
        executed.push(run.runId);
      });
      await node.submit(mailbox, { runId: 'later', order: 11, depth: 0 });
      while (attempts < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(executed, [], 'a deferred run is not executed');
      earlierSubmitted = true;
      await node.submit(mailbox, { runId: 'earlier', order: 10, depth: 0 });
      while (executed.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(executed, ['earlier', 'later']);
    } finally {
      await cluster.close();
    }
  });
});

describe('RedisRunQueue.resubmit (the re-queue sweep)', { skip: redisUrl ? false : 'needs TEST_REDIS_URL' }, () => {
  it('brings a lost run back; a run waiting or executing is not doubled', async () => {
    const cluster = redisCluster(redisUrl!);
    try {
      const executed: string[] = [];
      const held = Promise.withResolvers<void>();
      const started = Promise.withResolvers<void>();
      const queue = cluster.node(async (run) => {
        executed.push(run.runId);
        if (run.runId === 'r0') {
          started.resolve();
          await held.promise;
        }
      }) as RedisRunQueue;
      const mailbox = randomUUID();
      await queue.submit(mailbox, { runId: 'r0', order: 1, depth: 0 });
      await queue.submit(mailbox, { runId: 'r1', order: 2, depth: 1 });
      await started.promise;
      // Both still in the mailbox (r0 executing, r1 waiting), and a drain holds it: nothing added, no job.
      const again = [
        { runId: 'r0', order: 1, depth: 0 },
        { runId: 'r1', order: 2, depth: 1 },
      ];
      assert.equal(await queue.resubmit(mailbox, again), false);
      held.resolve();
      await until(() => executed.length === 2);
      // The drain releases its lease just after its last run; a resubmit before that is left to it.
      const redis = new Redis(redisUrl!);
      try {
        while ((await redis.keys(`*:mailbox:${mailbox}:lease`)).length > 0)
          await new Promise((resolve) => setTimeout(resolve, 5));
      } finally {
        redis.disconnect();
      }
      // A run Redis lost (never in the set now) comes back with a drain of its own.
      assert.equal(await queue.resubmit(mailbox, [{ runId: 'r2', order: 3, depth: 0 }]), true);
      await until(() => executed.length === 3);
      assert.deepEqual(executed, ['r0', 'r1', 'r2']);
    } finally {
      await cluster.close();
    }
  });
});

async function until(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
