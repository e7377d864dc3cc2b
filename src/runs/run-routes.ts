import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AgentsFeature } from '../agents/agents-feature.ts';
import type { AppContext } from '../http/context.ts';
import { idParams } from '../http/schemas.ts';
import { startChatStream } from './chat-stream.ts';
import { writeSseStream } from './sse-writer.ts';

/** Runs (`GET /runs/:id`, `POST /runs/:id/cancel`) and the one-shot `POST /chat/stream`. */
export function runRoutes(context: AppContext, feature: AgentsFeature): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/runs/:id',
      { schema: { tags: ['runs'], summary: 'A run with its steps (members of its conversation)', params: idParams } },
      async (request) => feature.runs.getRun(request.principal, request.params.id),
    );

    app.post(
      '/runs/:id/cancel',
      {
        schema: {
          tags: ['runs'],
          summary: 'Cancel a run: aborts the model call, keeps the partial text; answers with the run in its final status',
          params: idParams,
        },
      },
      async (request) => feature.runs.cancel(request.principal, request.params.id),
    );

    app.post(
      '/runs/:id/approvals/:approvalId',
      {
        schema: {
          tags: ['runs'],
          summary:
            'Approve or deny a tool call a paused run waits for (the addressed member only, once); argsHash binds the answer to the arguments shown',
          params: z.object({ id: z.uuid(), approvalId: z.uuid() }),
          body: z.object({
            decision: z.enum(['approve', 'deny']),
            argsHash: z
              .string()
              .regex(/^[0-9a-f]{64}$/)
              .optional(),
          }),
        },
      },
      async (request) =>
        feature.runs.answerApproval(request.principal, request.params.id, request.params.approvalId, request.body),
    );

    app.post(
      '/chat/stream',
      {
        schema: {
          tags: ['runs'],
          summary: 'Send to an agent and receive its reply as Server-Sent Events (a direct conversation when none is given)',
          body: z.object({
            agent: z.string().min(1).max(64),
            content: z.string().min(1),
            conversationId: z.uuid().optional(),
          }),
        },
      },
      async (request, reply) => {
        const stream = await startChatStream(context, feature.runs, request.principal, request.body);
        await writeSseStream(reply, stream.events, stream.close);
      },
    );
  };
}
