import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listAgents } from '../agents/agents.ts';
import type { ModelRegistry } from '../providers/model-registry.ts';
import type { AppContext } from './context.ts';

/** One model an agent can be given, `provider/model`; `isDefault` for CHORUS_DEFAULT_MODEL. */
interface ModelEntry {
  id: string;
  isDefault: boolean;
}

/**
 * GET /models — what the "new agent" form offers: CHORUS_DEFAULT_MODEL (first, `isDefault`),
 * CHORUS_FALLBACK_MODEL and the models the workspace's agents already use, each only when its
 * provider is configured; and `providers`, the configured provider names (any `provider/<model>`
 * of those is accepted too). `{ items, providers, nextCursor: null }`.
 */
export function modelRoutes(context: AppContext, models: ModelRegistry): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/models',
      { schema: { tags: ['agents'], summary: 'Models agents can use: the default, the fallback, those in use' } },
      async (request) => {
        const { defaultModel } = context.config;
        const inUse = (await listAgents(context.db, request.principal)).map((agent) => agent.model);
        const names = [defaultModel, context.config.agents.fallbackModel, ...inUse].filter(
          (name): name is string => typeof name === 'string' && models.isKnown(name),
        );
        const items: ModelEntry[] = [...new Set(names)].map((id) => ({ id, isDefault: id === defaultModel }));
        return { items, providers: [...models.providerNames], nextCursor: null };
      },
    );
  };
}
