import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { Redis } from 'ioredis';
import { BullMqJobQueue } from '../../src/jobs/job-queue.bullmq.ts';
import { MemoryJobQueue } from '../../src/jobs/job-queue.memory.ts';
import type { JobQueue } from '../../src/jobs/job-queue.ts';
import { runJobQueueContract } from './job-queue-contract.ts';

runJobQueueContract('in-process', async (options) => new MemoryJobQueue(options));

const redisUrl = process.env.TEST_REDIS_URL;
if (redisUrl) {
  runJobQueueContract('BullMQ on Redis', async (options) => {
    const prefix = `chorus-test-${randomBytes(6).toString('hex')}`;
    const queue = new BullMqJobQueue(redisUrl, { prefix, ...options });
    return withKeysRemoved(queue, redisUrl, prefix);
  });

  it('BullMQ: a job enqueued by a node that does not consume runs on one that does', async () => {
    const prefix = `chorus-test-${randomBytes(6).toString('hex')}`;
    const api = new BullMqJobQueue(redisUrl, { prefix, consume: false });
    const worker = withKeysRemoved(new BullMqJobQueue(redisUrl, { prefix }), redisUrl, prefix);
    const ran = Promise.withResolvers<unknown>();
    const definition = {
      kind: 'remote',
      concurrency: 1,
      attempts: 1,
      backoffMs: 10,
      async handle(data: unknown) {
        ran.resolve(data);
      },
    };
    try {
      api.register({ ...definition, handle: async () => assert.fail('the api node ran a job') });
      worker.register(definition);
      await api.enqueue('remote', { n: 7 });
      assert.deepEqual(await ran.promise, { n: 7 });
    } finally {
      await api.close();
      await worker.close();
    }
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
