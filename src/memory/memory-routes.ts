import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { idParams } from '../http/schemas.ts';
import { deleteMemory, listMemories } from './memories.ts';

/** A user's own agent memories: `GET /memories?agentId=`, `DELETE /memories/:id`. */
export function memoryRoutes(db: Db): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/memories',
      {
        schema: {
          tags: ['memory'],
          summary: 'What agents remember about you (newest first), optionally of one agent',
          querystring: z.object({ agentId: z.uuid().optional() }),
        },
      },
      async (request) => ({ items: await listMemories(db, request.principal, request.query.agentId), nextCursor: null }),
    );

    app.delete(
      '/memories/:id',
      { schema: { tags: ['memory'], summary: 'Forget one of your memories (404 for anyone else’s)', params: idParams } },
      async (request, reply) => {
        await deleteMemory(db, request.principal, request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
