import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.ts';
import { idParams } from '../http/schemas.ts';
import { listMessages, listUpdatedMessages, markRead, postMessage } from './messages.ts';

const seq = z.coerce.number().int().min(0);

/** Message routes: history, send, read cursor. */
export function messageRoutes(context: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/conversations/:id/messages',
      {
        schema: {
          tags: ['messages'],
          summary:
            'History ascending by seq: after afterSeq, before beforeSeq, or the latest; with updatedAfter, the messages changed since that updatedSeq, ascending by updatedSeq',
          params: idParams,
          querystring: z.object({
            afterSeq: seq.optional(),
            beforeSeq: seq.optional(),
            updatedAfter: seq.optional(),
            limit: z.coerce.number().int().min(1).max(context.config.limits.maxPageSize).default(50),
          }),
        },
      },
      async (request) =>
        request.query.updatedAfter === undefined
          ? listMessages(context.db, request.principal, request.params.id, request.query)
          : listUpdatedMessages(context.db, request.principal, request.params.id, {
              updatedAfter: request.query.updatedAfter,
              limit: request.query.limit,
            }),
    );

    app.post(
      '/conversations/:id/messages',
      {
        schema: {
          tags: ['messages'],
          summary: 'Send a message; a repeated clientMsgId returns the first message with 200',
          params: idParams,
          body: z.object({
            content: z.string().min(1),
            clientMsgId: z.string().min(1).max(100).optional(),
            threadRootId: z.uuid().optional(),
            attachmentIds: z.array(z.uuid()).max(10).optional(),
          }),
        },
      },
      async (request, reply) => {
        const { message, created } = await postMessage(context, request.principal, request.params.id, request.body);
        return reply.status(created ? 201 : 200).send(message);
      },
    );

    app.post(
      '/conversations/:id/read',
      {
        schema: {
          tags: ['messages'],
          summary: "Move the caller's read cursor forward to seq",
          params: idParams,
          body: z.object({ seq: z.number().int().min(0) }),
        },
      },
      async (request) => ({
        conversationId: request.params.id,
        lastReadSeq: await markRead(context, request.principal, request.params.id, request.body.seq),
      }),
    );
  };
}
