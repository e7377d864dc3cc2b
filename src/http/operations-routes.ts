import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.ts';

/** GET /healthz (process alive), GET /readyz (database reachable), GET /metrics (Prometheus text). */
export function registerOperationsRoutes(app: FastifyInstance, context: AppContext): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      await context.database.ping();
      return { status: 'ready', database: context.database.kind };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.status(503).send({ error: { code: 'internal', message: 'Database unreachable' } });
    }
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', context.metrics.registry.contentType).send(await context.metrics.registry.metrics()),
  );
}
