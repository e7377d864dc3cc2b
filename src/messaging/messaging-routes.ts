import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.ts';
import { idParams } from '../http/schemas.ts';
import { deleteMessage, editMessage } from './message-changes.ts';
import { forwardMessage, getMessage } from './forward.ts';
import { listThread } from './message-reads.ts';
import { setReaction } from './reactions.ts';

const reactionParams = z.object({ id: z.uuid(), emoji: z.string().min(1).max(64) });

/** Routes on one message: edit, delete, its thread, reactions. */
export function messagingRoutes(context: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/messages/:id',
      {
        schema: {
          tags: ['messages'],
          summary: 'One message; forwardedFrom is filled in when you are a member of its source',
          params: idParams,
        },
      },
      async (request) => getMessage(context.db, request.principal, request.params.id),
    );

    app.post(
      '/messages/:id/forward',
      {
        schema: {
          tags: ['messages'],
          summary: 'Copy a message into another conversation you belong to',
          params: idParams,
          body: z.object({ conversationId: z.uuid() }),
        },
      },
      async (request, reply) =>
        reply.status(201).send(await forwardMessage(context, request.principal, request.params.id, request.body.conversationId)),
    );

    app.patch(
      '/messages/:id',
      {
        schema: {
          tags: ['messages'],
          summary: 'Edit your message (sets editedAt; never reruns an agent)',
          params: idParams,
          body: z.object({ content: z.string().min(1) }),
        },
      },
      async (request) => editMessage(context, request.principal, request.params.id, request.body.content),
    );

    app.delete(
      '/messages/:id',
      {
        schema: {
          tags: ['messages'],
          summary: 'Delete a message (sender or workspace admin): it becomes a tombstone, seq kept',
          params: idParams,
        },
      },
      async (request) => deleteMessage(context, request.principal, request.params.id),
    );

    app.get(
      '/messages/:id/thread',
      {
        schema: {
          tags: ['messages'],
          summary: 'A thread root and its replies ascending by seq, after afterSeq',
          params: idParams,
          querystring: z.object({
            afterSeq: z.coerce.number().int().min(0).optional(),
            limit: z.coerce.number().int().min(1).max(context.config.limits.maxPageSize).default(50),
          }),
        },
      },
      async (request) => listThread(context.db, request.principal, request.params.id, request.query),
    );

    app.put(
      '/messages/:id/reactions/:emoji',
      { schema: { tags: ['messages'], summary: 'Add your reaction (idempotent)', params: reactionParams } },
      async (request) => setReaction(context, request.principal, request.params.id, request.params.emoji, true),
    );

    app.delete(
      '/messages/:id/reactions/:emoji',
      { schema: { tags: ['messages'], summary: 'Remove your reaction (idempotent)', params: reactionParams } },
      async (request) => setReaction(context, request.principal, request.params.id, request.params.emoji, false),
    );
  };
}
