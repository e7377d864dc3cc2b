import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BullMqJobQueue } from '../../src/jobs/job-queue.bullmq.ts';
import { MemoryJobQueue } from '../../src/jobs/job-queue.memory.ts';
import type { JobQueue } from '../../src/jobs/job-queue.ts';
import { runJobQueueContract } from './job-queue-contract.ts';

runJobQueueContract('in-process', async () => new MemoryJobQueue());

const redisUrl = process.env.TEST_REDIS_URL;
if (redisUrl) {
  runJobQueueContract('BullMQ on Redis', async () => {
    const prefix = `chorus-test-${randomBytes(6).toString('hex')}`;
    const queue = new BullMqJobQueue(redisUrl, { prefix });
    return withKeysRemoved(queue, redisUrl, prefix);
  });
}

/** Deletes the queue's keys once it is closed: Redis is shared between test runs. */
function withKeysRemoved(queue: JobQueue, url: string, prefix: string): JobQueue {
  const close = queue.close.bind(queue);
  queue.close = async () => {
    await close();
    const redis = new Redis(url);
    try {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      await redis.quit();
    }
  };
  return queue;
}
