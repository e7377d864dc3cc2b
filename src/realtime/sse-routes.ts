import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import { AppError } from '../errors/app-error.ts';
import type { AppContext } from '../http/context.ts';
import { bearerToken } from '../http/authenticate-hook.ts';
import { idParams } from '../http/schemas.ts';
import { SseStream, type SseStreamDeps } from './sse-stream.ts';

const position = z.coerce.number().int().min(0);

/**
 * `GET /conversations/:id/events`: the conversation's live events as Server-Sent Events.
 * Credentials: `Authorization: Bearer` or `?access_token=` (EventSource cannot set headers).
 * Resume: `Last-Event-ID` header or `?lastEventId=`. Throws unauthorized, not_found, invalid_request.
 */
export function sseRoutes(
  context: AppContext,
  streams: Set<SseStream>,
  deps: Omit<SseStreamDeps, 'onEnded'>,
  isAccepting: () => boolean,
): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/conversations/:id/events',
      {
        // `?access_token=` must not reach the request log.
        logSerializers: {
          req: (request: FastifyRequest) => ({
            method: request.method,
            url: request.url.replace(/([?&]access_token=)[^&]*/, '$1[redacted]'),
            remoteAddress: request.ip,
          }),
        },
        schema: {
          tags: ['realtime'],
          summary: 'Live events of a conversation as SSE; Last-Event-ID (a message seq) replays what was missed',
          params: idParams,
          querystring: z.object({
            access_token: z.string().min(1).optional().describe('For EventSource, which cannot send Authorization'),
            lastEventId: position.optional().describe('Same as the Last-Event-ID header'),
          }),
        },
      },
      async (request, reply) => {
        const token = bearerToken(request.headers.authorization) ?? request.query.access_token;
        if (!token) throw new AppError('unauthorized', 'Missing bearer token (header or access_token)');
        const principal = await authenticate(context, token);
        await context.rateLimits.consume(`user:${principal.userId}`);
        await requireMembership(context.db, principal.workspaceId, request.params.id, principal.userId);
        if (!isAccepting()) return reply.status(503).send(new AppError('internal', 'Server is shutting down; retry').toBody());
        const lastEventId = parseLastEventId(request.headers['last-event-id']) ?? request.query.lastEventId;

        reply.hijack();
        const response = reply.raw;
        response.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          'x-request-id': request.id,
        });
        response.write('retry: 2000\n\n');
        const stream = new SseStream(principal, request.params.id, response, {
          ...deps,
          onEnded: (ended) => streams.delete(ended),
        });
        streams.add(stream);
        try {
          await stream.start(lastEventId);
        } catch (error) {
          request.log.error({ err: error }, 'starting an SSE stream failed');
          stream.end();
        }
      },
    );
  };
}

function parseLastEventId(header: string | string[] | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  const parsed = position.safeParse(header);
  if (!parsed.success) throw new AppError('invalid_request', 'Last-Event-ID must be a message seq (a whole number ≥ 0)');
  return parsed.data;
}
