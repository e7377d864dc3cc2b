import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.ts';
import { handleSchema, idParams } from '../http/schemas.ts';
import type { AgentsFeature } from './agents-feature.ts';
import { createAgent, deleteAgent, getAgentRow, listAgents, toPublicAgent, updateAgent } from './agents.ts';

const editable = {
  displayName: z.string().trim().min(1).max(80),
  model: z.string().min(3).max(200).nullable(),
  systemPrompt: z.string().max(32_000),
  temperature: z.number().min(0).max(2).nullable(),
  maxOutputTokens: z.number().int().min(1).max(200_000).nullable(),
  tools: z.array(z.string().min(1).max(200)).max(100),
  toolApprovals: z.array(z.string().min(1).max(200)).max(100),
  knowledgeBaseIds: z.array(z.uuid()).max(50),
  memoryEnabled: z.boolean(),
  /** Checked in full by validateChain (src/chain/chain-schema.ts) for readable errors. */
  chain: z
    .object({ steps: z.array(z.unknown()) })
    .passthrough()
    .nullable(),
  budgets: z
    .object({
      maxSteps: z.number().int().min(1).max(1_000).optional(),
      maxToolCalls: z.number().int().min(0).max(1_000).optional(),
      maxTokens: z.number().int().min(1).max(100_000_000).optional(),
    })
    .strict()
    .nullable(),
};

/** Agent CRUD under /agents (SPEC §4). */
export function agentRoutes(context: AppContext, feature: AgentsFeature): FastifyPluginAsyncZod {
  const deps = { db: context.db, models: feature.models, bus: context.bus, mcp: context.mcp };
  return async (app) => {
    app.get('/agents', { schema: { tags: ['agents'], summary: "The workspace's agents, by handle" } }, async (request) => ({
      items: await listAgents(context.db, request.principal),
      nextCursor: null,
    }));

    app.post(
      '/agents',
      {
        schema: {
          tags: ['agents'],
          summary: 'Create an agent; model is provider/model of a configured provider, or absent for CHORUS_DEFAULT_MODEL',
          body: z.object({ handle: handleSchema, ...partial(editable) }),
        },
      },
      async (request, reply) => reply.status(201).send(await createAgent(deps, request.principal, request.body)),
    );

    app.get('/agents/:id', { schema: { tags: ['agents'], summary: 'One agent', params: idParams } }, async (request) =>
      toPublicAgent(await getAgentRow(context.db, request.principal.workspaceId, request.params.id)),
    );

    app.patch(
      '/agents/:id',
      {
        schema: {
          tags: ['agents'],
          summary: 'Change an agent (its owner or an admin)',
          params: idParams,
          body: z.object({ handle: handleSchema.optional(), ...partial(editable) }),
        },
      },
      async (request) => updateAgent(deps, request.principal, request.params.id, request.body),
    );

    app.delete(
      '/agents/:id',
      { schema: { tags: ['agents'], summary: 'Delete an agent (its owner or an admin)', params: idParams } },
      async (request, reply) => {
        await deleteAgent(deps, request.principal, request.params.id);
        return reply.status(204).send();
      },
    );
  };
}

function partial<T extends Record<string, z.ZodType>>(shape: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  return Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, schema.optional()])) as {
    [K in keyof T]: z.ZodOptional<T[K]>;
  };
}
