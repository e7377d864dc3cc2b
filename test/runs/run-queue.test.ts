import { randomBytes } from 'node:crypto';
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
