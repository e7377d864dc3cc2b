import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.ts';
import { searchMessages } from './search.ts';

/** `GET /search`: full-text search over the caller's conversations. */
export function searchRoutes(context: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/search',
      {
        schema: {
          tags: ['search'],
          summary: 'Search messages of your conversations: ranked, highlighted, paged',
          querystring: z.object({
            q: z.string().trim().min(1).max(500),
            conversationId: z.uuid().optional(),
            sender: z.string().min(1).max(64).optional(),
            before: z.iso.datetime({ offset: true }).optional(),
            after: z.iso.datetime({ offset: true }).optional(),
            cursor: z.string().max(200).optional(),
            limit: z.coerce.number().int().min(1).max(100).default(20),
          }),
        },
      },
      async (request) => searchMessages(context.db, request.principal, request.query),
    );
  };
}
