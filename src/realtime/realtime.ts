import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../http/context.ts';
import { Hub } from './hub.ts';
import { startPresenceSweeper } from './presence.ts';
import { sseRoutes } from './sse-routes.ts';
import type { SseStream } from './sse-stream.ts';
import { WebSocketGateway } from './websocket-gateway.ts';

/** How long a `message` is held for its missing predecessor before the gap is read from the store. */
const reorderHoldMs = 100;
/** A client must send `auth` within this long when it did not authenticate on the upgrade (SPEC §5). */
const authTimeoutMs = 10_000;
/** Frames of one connection handled concurrently before its socket stops being read. */
const maxInFlightFrames = 32;
/** SSE heartbeat comments at least this often (SPEC: ≤ 15 s). */
const maxSseHeartbeatMs = 15_000;

/** The real-time feature of one node: WebSocket at `/api/v1/ws`, SSE routes, and the shared hub. */
export interface Realtime {
  /** Registers `GET /conversations/:id/events`; mount it under the API prefix, outside the bearer-only hook. */
  sseRoutes: FastifyPluginAsyncZod;
  /** Handles WebSocket upgrades at `wsPath` on `app.server` and closes everything before the server closes. */
  attach(app: FastifyInstance, wsPath: string): void;
  readonly hub: Hub;
}

/** Builds the node's hub, SSE routes and WebSocket gateway from the context and its config. */
export function createRealtime(context: AppContext): Realtime {
  const { heartbeatIntervalMs, maxBufferedBytes } = context.config.realtime;
  const hub = new Hub({ bus: context.bus, db: context.db, logger: context.logger, reorderHoldMs });
  const streams = new Set<SseStream>();
  let accepting = true;
  const routes = sseRoutes(
    context,
    streams,
    { db: context.db, hub, maxBufferedBytes, replayPageSize: context.config.limits.maxPageSize },
    () => accepting,
  );

  return {
    hub,
    sseRoutes: routes,
    attach(app, wsPath) {
      const gateway = new WebSocketGateway(context, hub, {
        path: wsPath,
        maxFrameBytes: context.config.limits.maxFrameBytes,
        maxBufferedBytes,
        heartbeatIntervalMs,
        authTimeoutMs,
        maxInFlightFrames,
      });
      gateway.attach(app.server);
      const sseHeartbeat = setInterval(
        () => {
          for (const stream of streams) stream.heartbeat();
        },
        Math.min(heartbeatIntervalMs, maxSseHeartbeatMs),
      );
      sseHeartbeat.unref();
      const stopSweeper = startPresenceSweeper(context.db, context.bus, (error) =>
        context.logger.warn({ err: error }, 'presence sweep failed'),
      );
      app.addHook('preClose', async () => {
        accepting = false;
        clearInterval(sseHeartbeat);
        await stopSweeper();
        for (const stream of [...streams]) stream.end();
        await gateway.shutdown();
      });
    },
  };
}
