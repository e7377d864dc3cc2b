import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Executor } from '../db/database.ts';
import { idParams } from '../http/schemas.ts';
import { createSchedule, deleteSchedule, listSchedules, setSchedulePaused } from './schedules.ts';

/** Scheduled agent runs under /schedules (docs/api.md). */
export function scheduleRoutes(db: Executor): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ['schedules'];
    app.post(
      '/schedules',
      {
        schema: {
          tags,
          summary: 'Schedule an agent: at each cron occurrence the prompt is posted as your message and the agent answers',
          body: z.object({
            agentId: z.uuid(),
            conversationId: z.uuid(),
            cron: z.string().trim().min(9).max(120),
            timezone: z.string().min(1).max(64).optional(),
            prompt: z.string().trim().min(1).max(8_000),
          }),
        },
      },
      async (request, reply) => reply.status(201).send(await createSchedule(db, request.principal, request.body)),
    );
    app.get(
      '/schedules',
      { schema: { tags, summary: "Your schedules (admins: the workspace's), newest first" } },
      async (request) => ({
        items: await listSchedules(db, request.principal),
        nextCursor: null,
      }),
    );
    app.patch(
      '/schedules/:id',
      { schema: { tags, summary: 'Pause or resume a schedule', params: idParams, body: z.object({ paused: z.boolean() }) } },
      async (request) => setSchedulePaused(db, request.principal, request.params.id, request.body.paused),
    );
    app.delete('/schedules/:id', { schema: { tags, summary: 'Delete a schedule', params: idParams } }, async (request, reply) => {
      await deleteSchedule(db, request.principal, request.params.id);
      return reply.status(204).send();
    });
  };
}
