import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
