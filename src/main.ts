import type { FastifyInstance } from 'fastify';
import { createApp } from './app.ts';
import { resolveJwtSecret, TokenSigner } from './auth/tokens.ts';
import type { Config } from './config/config.ts';
import { openDatabase } from './db/database.ts';
import { createLogger } from './observability/logger.ts';
import { MemoryEventBus } from './realtime/event-bus.memory.ts';

/**
 * The composition root: opens storage for the configured mode, migrates, builds the app and
 * listens on `config.host:config.port`. Returns the app and its bound address.
 */
export async function startServer(config: Config): Promise<{ app: FastifyInstance; url: string }> {
  const logger = createLogger(config.logLevel);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await database.migrate();
  const signer = new TokenSigner(resolveJwtSecret(config.jwtSecret, config.dataDir));
  const bus = new MemoryEventBus({ onHandlerError: (error) => logger.error({ err: error }, 'event handler failed') });
  const { app, context } = await createApp({ config, database, bus, logger, signer });
  context.onClose.push(() => database.close(), () => bus.close());
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info({ url, mode: config.mode, database: database.kind }, 'Chorus is listening');
  return { app, url };
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
