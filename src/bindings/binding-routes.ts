import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.ts';
import { idParams } from '../http/schemas.ts';
import { dismissAdvice, listPendingAdvice, sendAdvice } from './advice.ts';
import { requestAdvice } from './advice-request.ts';
import { createBinding, deleteBinding, getBindingsPause, listBindings, setBindingsPaused, updateBinding } from './bindings.ts';
import type { BindingsFeature } from './bindings-feature.ts';

const options = {
  enabled: z.boolean().optional(),
  onlyWhenAway: z.boolean().optional(),
  delaySeconds: z.number().int().min(0).max(86_400).optional(),
  instructions: z.string().max(8_000).optional(),
  dailyMessageBudget: z.number().int().min(1).max(10_000).nullable().optional(),
};
const bindingParams = z.object({ id: z.uuid(), bindingId: z.uuid() });
const adviceParams = z.object({ id: z.uuid(), adviceId: z.uuid() });

/** Bindings (`/conversations/:id/bindings`), advice (`/conversations/:id/advice`) and the kill switch (`/users/:id/bindings/pause`). */
export function bindingRoutes(context: AppContext, feature: BindingsFeature): FastifyPluginAsyncZod {
  const deps = { db: context.db, bus: context.bus };
  return async (app) => {
    app.get(
      '/conversations/:id/bindings',
      { schema: { tags: ['bindings'], summary: "The caller's own bindings in the conversation", params: idParams } },
      async (request) => ({ items: await listBindings(context.db, request.principal, request.params.id), nextCursor: null }),
    );

    app.post(
      '/conversations/:id/bindings',
      {
        schema: {
          tags: ['bindings'],
          summary:
            'Bind a workspace agent to the conversation for yourself: autoreply (answers for you) or advice (suggests privately)',
          params: idParams,
          body: z.object({ agentId: z.uuid(), mode: z.enum(['autoreply', 'advice']), ...options }),
        },
      },
      async (request, reply) =>
        reply.status(201).send(await createBinding(deps, request.principal, request.params.id, request.body)),
    );

    app.patch(
      '/conversations/:id/bindings/:bindingId',
      { schema: { tags: ['bindings'], summary: 'Change your binding', params: bindingParams, body: z.object(options) } },
      async (request) => updateBinding(deps, request.principal, request.params.id, request.params.bindingId, request.body),
    );

    app.delete(
      '/conversations/:id/bindings/:bindingId',
      { schema: { tags: ['bindings'], summary: 'Delete your binding', params: bindingParams } },
      async (request, reply) => {
        await deleteBinding(deps, request.principal, request.params.id, request.params.bindingId);
        return reply.status(204).send();
      },
    );

    app.get(
      '/conversations/:id/advice',
      { schema: { tags: ['bindings'], summary: 'Your advice still waiting in the conversation (private)', params: idParams } },
      async (request) => ({ items: await listPendingAdvice(context.db, request.principal, request.params.id), nextCursor: null }),
    );

    app.post(
      '/conversations/:id/advice',
      {
        schema: {
          tags: ['bindings'],
          summary: "Ask for advice now (agentId, or your advice binding's agent); it streams privately as advice frames",
          params: idParams,
          body: z.object({ agentId: z.uuid().optional() }),
        },
      },
      async (request, reply) =>
        reply
          .status(202)
          .send(await requestAdvice({ db: deps.db, runs: feature.runs }, request.principal, request.params.id, request.body)),
    );

    app.post(
      '/conversations/:id/advice/:adviceId/send',
      {
        schema: {
          tags: ['bindings'],
          summary: 'Post the suggestion as your own message (content replaces it when given)',
          params: adviceParams,
          body: z.object({ content: z.string().min(1).optional() }).optional(),
        },
      },
      async (request) =>
        sendAdvice(context, request.principal, request.params.id, request.params.adviceId, request.body?.content),
    );

    app.post(
      '/conversations/:id/advice/:adviceId/dismiss',
      { schema: { tags: ['bindings'], summary: 'Dismiss your advice (one still being written stops)', params: adviceParams } },
      async (request) =>
        dismissAdvice({ ...deps, cancelRun: context.cancelRun }, request.principal, request.params.id, request.params.adviceId),
    );

    app.get(
      '/users/:id/bindings/pause',
      {
        schema: {
          tags: ['bindings'],
          summary: "Whether the user's bindings are paused (the user or an admin)",
          params: idParams,
        },
      },
      async (request) => getBindingsPause(context.db, request.principal, request.params.id),
    );

    for (const [path, paused] of [
      ['/users/:id/bindings/pause', true],
      ['/users/:id/bindings/resume', false],
    ] as const) {
      app.post(
        path,
        {
          schema: {
            tags: ['bindings'],
            summary: paused
              ? 'Kill switch: pause every binding of the user (the user or an admin)'
              : "Resume the user's bindings",
            params: idParams,
          },
        },
        async (request) => setBindingsPaused(deps, request.principal, request.params.id, paused),
      );
    }
  };
}
