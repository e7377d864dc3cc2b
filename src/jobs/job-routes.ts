import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../auth/auth-service.ts';
import type { Executor } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { getUser } from '../users/users.ts';
import type { JobInfo, JobQueue, JobState } from './job-queue.ts';

/**
 * The background jobs of the principal's workspace (queued, running, dead-lettered), newest first,
 * at most `limit` per kind and state. Owners and admins only (forbidden otherwise).
 */
export async function listWorkspaceJobs(
  db: Executor,
  jobs: JobQueue,
  principal: Principal,
  filter: { states?: JobState[]; limit: number },
): Promise<JobInfo[]> {
  const user = await getUser(db, principal.workspaceId, principal.userId);
  if (user.role === 'member') throw new AppError('forbidden', 'Only owners and admins can see background jobs');
  return jobs.list({ workspaceId: principal.workspaceId, states: filter.states, limit: filter.limit });
}

/** `GET /jobs` for admins. */
export function jobRoutes(deps: { db: Executor; jobs: JobQueue }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/jobs',
      {
        schema: {
          tags: ['jobs'],
          summary: 'Background jobs of the workspace (owners and admins): queued, running, failed (dead-lettered), with progress',
          querystring: z.object({
            state: z.enum(['queued', 'running', 'failed']).optional(),
            limit: z.coerce.number().int().min(1).max(200).default(50),
          }),
        },
      },
      async (request) => ({
        items: await listWorkspaceJobs(deps.db, deps.jobs, request.principal, {
          states: request.query.state ? [request.query.state] : undefined,
          limit: request.query.limit,
        }),
        nextCursor: null,
      }),
    );
  };
}
