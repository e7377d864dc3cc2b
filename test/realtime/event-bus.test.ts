import { MemoryEventBus } from '../../src/bus/event-bus.memory.ts';
import { RedisEventBus } from '../../src/bus/event-bus.redis.ts';
import { runEventBusContract } from './event-bus-contract.ts';

runEventBusContract('memory', async () => {
  const bus = new MemoryEventBus({ onHandlerError: () => {} });
  return [bus, bus];
});

const redisUrl = process.env.TEST_REDIS_URL;
if (redisUrl) {
  runEventBusContract('redis (two nodes)', async () => [
    new RedisEventBus(redisUrl, { onHandlerError: () => {} }),
    new RedisEventBus(redisUrl, { onHandlerError: () => {} }),
  ]);
}
