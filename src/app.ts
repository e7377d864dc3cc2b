import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { uuidv7 } from 'uuidv7';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { agentRoutes } from './agents/agent-routes.ts';
import { accountRoutes, authPublicRoutes } from './auth/auth-routes.ts';
import type { TokenSigner } from './auth/tokens.ts';
import type { Config } from './config/config.ts';
import { conversationRoutes } from './conversations/conversation-routes.ts';
import type { Database } from './db/database.ts';
import { AppError } from './errors/app-error.ts';
import { authenticateHook } from './http/authenticate-hook.ts';
import type { AppContext } from './http/context.ts';
import { installErrorHandling } from './http/error-handler.ts';
import { registerOperationsRoutes } from './http/operations-routes.ts';
import { RateLimits } from './http/rate-limit.ts';
import { modelRoutes } from './http/model-routes.ts';
import { registerWebRoutes } from './http/web-routes.ts';
import { messageRoutes } from './messages/message-routes.ts';
import { messagingRoutes } from './messaging/messaging-routes.ts';
import { searchRoutes } from './search/search-routes.ts';
import { attachmentRoutes } from './attachments/attachment-routes.ts';
import { createAttachmentStorage } from './attachments/attachment-storage.ts';
import { openAIRoutes } from './openai-compat/openai-routes.ts';
import { runRoutes } from './runs/run-routes.ts';
import { createMetrics } from './observability/metrics.ts';
import type { EventBus } from './bus/event-bus.ts';
import { createRealtime } from './realtime/realtime.ts';
import { mcpRoutes } from './mcp/mcp-routes.ts';
import { memoryRoutes } from './memory/memory-routes.ts';
import { MemoryJobQueue } from './jobs/job-queue.memory.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import { jobRoutes } from './jobs/job-routes.ts';
import { knowledgeRoutes } from './knowledge/knowledge-routes.ts';
import { scheduleRoutes } from './schedules/schedule-routes.ts';
import { bindingRoutes } from './bindings/binding-routes.ts';
import { createRunEngine, type RunEngine } from './run-engine.ts';

/** What the composition root chooses: config, storage, fan-out, logger and signer. */
export interface AppDeps {
  config: Config;
  database: Database;
  bus: EventBus;
  logger: Logger;
  signer: TokenSigner;
  /** Distributed mode: shared rate-limit counters and a readiness check. */
  redis?: Redis;
  /** Background jobs: BullMQ in distributed mode; the in-process queue when absent. */
  jobs?: JobQueue;
}

const apiPrefix = '/api/v1';

/**
 * Builds the Fastify app and the feature context from `deps`, without listening or touching the
 * process: tests build it with whatever they need. Close it with `app.close()`.
 */
export async function createApp(deps: AppDeps): Promise<{ app: FastifyInstance; context: AppContext }> {
  const { config, logger } = deps;
  const metrics = createMetrics();
  const context: AppContext = {
    ...deps,
    jobs:
      deps.jobs ??
      new MemoryJobQueue({ onHandlerError: (error) => logger.error({ err: error }, 'job dead-letter handler failed') }),
    db: deps.database.db,
    metrics,
    rateLimits: new RateLimits(config.rateLimitPerSecond, deps.redis),
    attachmentStorage: createAttachmentStorage(config),
    maxMessageBytes: config.limits.maxMessageBytes,
    messagePosted: new Set(),
    cancelRun: async () => {
      throw new AppError('not_found', 'Run not found');
    },
    answerApproval: async () => {
      throw new AppError('not_found', 'Run not found');
    },
    onClose: [],
  };

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.limits.maxBodyBytes,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : uuidv7();
    },
    requestIdHeader: false,
    trustProxy: false,
    // Errors raised before routing (a malformed URL, a bad Content-Type) get the public error shape too.
    frameworkErrors: (error, _request, reply) => {
      (reply as FastifyReply).status(400).send(new AppError('invalid_request', error.message, { cause: error }).toBody());
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.url.startsWith(apiPrefix) || request.url.startsWith('/v1/')) await context.rateLimits.consume(`ip:${request.ip}`);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.addHook('onClose', async () => {
    for (const close of [...context.onClose].reverse()) await close();
  });

  registerOperationsRoutes(app, context);
  // Every role composes the run engine; which jobs a node takes is its job queue's `consume`.
  const engine = createRunEngine(app, context);
  // After the engine's own preClose hooks (active runs end first), so the queue does not wait on them.
  app.addHook('preClose', () => context.jobs.close());
  // A worker node serves only the operations routes above (SPEC §1: `--role worker`).
  if (config.role !== 'worker') await registerApiSide(app, context, engine);
  return { app, context };
}

/**
 * The API side of a node (roles `api` and `all`): OpenAPI docs, the WebSocket and SSE transports,
 * every `/api/v1` and `/v1` route and the web client, over the run engine's features.
 */
async function registerApiSide(app: FastifyInstance, context: AppContext, engine: RunEngine): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Chorus API', version: '1', description: 'People and AI agents in the same conversations.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const { mcp, knowledge, agents: agentsFeature, bindings: bindingsFeature } = engine;
  const realtime = createRealtime(context);
  realtime.attach(app, `${apiPrefix}/ws`);

  await app.register(
    async (api) => {
      await api.register(authPublicRoutes(context));
      await api.register(realtime.sseRoutes);
      await api.register(async (protectedApi) => {
        protectedApi.addHook('onRequest', authenticateHook(context));
        await protectedApi.register(accountRoutes(context));
        await protectedApi.register(conversationRoutes(context));
        await protectedApi.register(messageRoutes(context));
        await protectedApi.register(messagingRoutes(context));
        await protectedApi.register(searchRoutes(context));
        await protectedApi.register(attachmentRoutes(context));
        await protectedApi.register(agentRoutes(context, agentsFeature));
        await protectedApi.register(modelRoutes(context, agentsFeature.models));
        await protectedApi.register(runRoutes(context, agentsFeature));
        await protectedApi.register(mcpRoutes(mcp));
        await protectedApi.register(memoryRoutes(context.db));
        await protectedApi.register(knowledgeRoutes(knowledge));
        await protectedApi.register(jobRoutes(context));
        await protectedApi.register(scheduleRoutes(context.db));
        await protectedApi.register(bindingRoutes(context, bindingsFeature));
      });
    },
    { prefix: apiPrefix },
  );
  await app.register(async (openAICompat) => {
    openAICompat.addHook('onRequest', authenticateHook(context));
    await openAICompat.register(openAIRoutes(context, agentsFeature));
  });

  await registerWebRoutes(app);
}
