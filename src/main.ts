import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AppContext } from './http/context.ts';
import { createApp } from './app.ts';
import { resolveJwtSecret, TokenSigner } from './auth/tokens.ts';
import type { Config } from './config/config.ts';
import { openDatabase } from './db/database.ts';
import { createLogger } from './observability/logger.ts';
import type { EventBus } from './bus/event-bus.ts';
import { MemoryEventBus } from './bus/event-bus.memory.ts';
import type { Redis } from 'ioredis';
import { ConfigError } from './config/config.ts';

/**
 * The composition root: opens storage for the configured mode, migrates, builds the app and
 * listens on `config.host:config.port`. Returns the app and its bound address.
 */
export async function startServer(
  config: Config,
  options: { logger?: Logger } = {},
): Promise<{ app: FastifyInstance; context: AppContext; url: string }> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    logger,
    pgvector: config.knowledge.embeddingModel !== undefined,
    // Without its database the server can only fail every request: exit, so a supervisor restarts it.
    onWorkerExit: (error) => {
      logger.fatal({ err: error }, 'the embedded database thread died; exiting');
      process.exit(1);
    },
  });
  try {
    await database.migrate();
  } catch (error) {
    await database.close().catch(() => {});
    if (database.kind === 'postgres') {
      throw new ConfigError(`Invalid configuration: DATABASE_URL: cannot migrate PostgreSQL (${rootCause(error)})`);
    }
    throw error;
  }
  const signer = new TokenSigner(resolveJwtSecret(config.jwtSecret, config.dataDir));
  const onHandlerError = (error: unknown) => logger.error({ err: error }, 'event handler failed');
  // The Redis client loads only when Redis is configured.
  const redis = config.redisUrl ? await connectRedis(config.redisUrl) : undefined;
  const bus: EventBus = config.redisUrl
    ? new (await import('./bus/event-bus.redis.ts')).RedisEventBus(config.redisUrl, {
        onHandlerError,
        presenceTtlMs: config.realtime.presenceTtlMs,
      })
    : new MemoryEventBus({ onHandlerError });
  const jobs = config.redisUrl
    ? new (await import('./jobs/job-queue.bullmq.ts')).BullMqJobQueue(config.redisUrl, {
        prefix: config.jobs.queuePrefix,
        onHandlerError: (error) => logger.error({ err: error }, 'job dead-letter handler failed'),
        // Roles (SPEC §1): an `api` node enqueues agent runs, ingestion and schedule firings; `worker`
        // and `all` nodes take them. createApp registers the API side unless the role is `worker`.
        consume: config.role !== 'api',
      })
    : undefined;
  const { app, context } = await createApp({ config, database, bus, logger, signer, redis, jobs });
  context.onClose.push(
    () => database.close(),
    () => bus.close(),
    async () => {
      await redis?.quit();
    },
  );
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info({ url, mode: config.mode, role: config.role, database: database.kind }, 'Chorus is listening');
  return { app, context, url };
}

/** The innermost message of an error's cause chain (drivers wrap "connection refused" in query errors). */
function rootCause(error: unknown): string {
  let current = error as { message?: string; cause?: unknown };
  while (current.cause && typeof current.cause === 'object') current = current.cause as typeof current;
  return current.message || String(error);
}

/** A Redis client that answered PING; a wrong URL fails start-up here, not at first use. */
async function connectRedis(url: string): Promise<Redis> {
  const [{ Redis }, { reconnectDelayMs }] = await Promise.all([import('ioredis'), import('./bus/event-bus.redis.ts')]);
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    connectTimeout: 5_000,
    retryStrategy: reconnectDelayMs,
  });
  try {
    await redis.connect();
    await redis.ping();
    // Losing Redis later is reported by /readyz and by the requests that need it; the client reconnects by itself.
    redis.on('error', () => {});
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new ConfigError(`Invalid configuration: REDIS_URL: cannot reach Redis (${(error as Error).message})`);
  }
}

/** Runs migrations against the configured database and exits. */
export async function migrateOnly(config: Config): Promise<void> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
}
