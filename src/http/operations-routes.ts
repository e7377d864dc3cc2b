import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.ts';

/** GET /healthz (process alive), GET /readyz (database, and Redis when used, reachable), GET /metrics (Prometheus text). */
export function registerOperationsRoutes(app: FastifyInstance, context: AppContext): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      await context.database.ping();
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: database');
      return reply.status(503).send({ error: { code: 'internal', message: 'Database unreachable' } });
    }
    try {
      await context.redis?.ping();
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: redis');
      return reply.status(503).send({ error: { code: 'internal', message: 'Redis unreachable' } });
    }
    return { status: 'ready', database: context.database.kind, redis: context.redis ? 'ok' : 'unused' };
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', context.metrics.registry.contentType).send(await context.metrics.registry.metrics()),
  );
}
