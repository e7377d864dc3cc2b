import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { authenticate, type Principal } from '../auth/auth-service.ts';
import { AppError, toAppError } from '../errors/app-error.ts';
import type { AppContext } from '../http/context.ts';
import { bearerToken } from '../http/authenticate-hook.ts';
import { runFrame } from './commands.ts';
import { Connection } from './connection.ts';
import type { Hub } from './hub.ts';
import { isOriginAllowed } from './origin.ts';
import { OnlineCoMembers } from './presence.ts';

/** Limits and timings of the WebSocket endpoint. Sizes in bytes, durations in ms. */
export interface GatewayOptions {
  path: string;
  maxFrameBytes: number;
  maxBufferedBytes: number;
  heartbeatIntervalMs: number;
  authTimeoutMs: number;
  maxInFlightFrames: number;
}

/**
 * The WebSocket endpoint (SPEC §5): checks `Origin`, rate limit and `Authorization` on the upgrade,
 * then runs a `Connection` per socket. Drops sockets that miss a heartbeat pong, and on `shutdown`
 * stops accepting, finishes in-flight frames and closes every socket with 1001.
 */
export class WebSocketGateway {
  readonly #context: AppContext;
  readonly #options: GatewayOptions;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #connectionDeps;
  #accepting = true;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(context: AppContext, hub: Hub, options: GatewayOptions) {
    this.#context = context;
    this.#options = options;
    const serverOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxFrameBytes,
      // A 1 MiB frame needs a few dozen chunks; thousands of tiny ones are a memory attack.
      maxBufferedChunks: 8192,
      maxFragments: 1024,
      skipUTF8Validation: false,
      // How long a closing socket waits for the client's close frame before it is destroyed.
      closeTimeout: 10_000,
    };
    this.#wss = new WebSocketServer(serverOptions);
    this.#connectionDeps = {
      context,
      hub,
      maxBufferedBytes: options.maxBufferedBytes,
      maxInFlightFrames: options.maxInFlightFrames,
      runFrame,
      coMembers: new OnlineCoMembers(context.db, context.bus),
      track: (task: Promise<unknown>) => this.#track(task),
      onClosed: (connection: Connection) => {
        if (this.#connections.delete(connection)) context.metrics.wsConnections.dec();
      },
    };
  }

  /** Handles `upgrade` requests for `options.path` on `server` and starts the heartbeat. */
  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(request.url ?? '/', 'http://localhost').pathname !== this.#options.path) {
        if (server.listenerCount('upgrade') === 1) rejectUpgrade(socket, new AppError('not_found', 'No WebSocket endpoint here'));
        return;
      }
      socket.on('error', () => socket.destroy());
      void this.#handshake(request, socket, head);
    });
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /** Live connections on this node. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Stops accepting upgrades, stops reading frames, waits (up to `graceMs`) for frames being
   * handled to finish, then closes every socket with 1001 and waits for them to end.
   */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.#accepting = false;
    clearInterval(this.#heartbeat);
    for (const connection of this.#connections) connection.stopReading();
    await withTimeout(this.#settleTasks(), graceMs);
    const closed = [...this.#connections].map((connection) => closedPromise(connection.ws));
    for (const connection of this.#connections) connection.close('goingAway');
    if (!(await withTimeout(Promise.all(closed), 2_000))) {
      for (const connection of this.#connections) connection.ws.terminate();
    }
    await withTimeout(this.#settleTasks(), graceMs);
  }

  async #handshake(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      if (!this.#accepting) return rejectUpgrade(socket, shuttingDown(), 503);
      if (!isOriginAllowed(request.headers.origin, request.headers.host, this.#context.config.allowedOrigins)) {
        throw new AppError('forbidden', 'Origin not allowed');
      }
      await this.#context.rateLimits.consume(`ip:${request.socket.remoteAddress}`);
      const token = bearerToken(request.headers.authorization);
      const principal = token ? await authenticate(this.#context, token) : undefined;
      if (principal) await this.#context.rateLimits.consume(`user:${principal.userId}`);
      if (socket.destroyed) return;
      if (!this.#accepting) return rejectUpgrade(socket, shuttingDown(), 503);
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#open(ws, socket, principal));
    } catch (error) {
      rejectUpgrade(socket, toAppError(error));
    }
  }

  #open(ws: WebSocket, socket: Duplex, principal: Principal | undefined): void {
    const connection = new Connection(ws, socket, this.#connectionDeps);
    this.#connections.add(connection);
    this.#context.metrics.wsConnections.inc();
    if (!principal) {
      connection.expectAuthFrame(this.#options.authTimeoutMs);
      return;
    }
    connection.start(principal).catch((error: unknown) => {
      this.#context.logger.error({ err: error }, 'starting a websocket connection failed');
      connection.close('internal');
    });
  }

  /**
   * One heartbeat: each connection that did not answer the previous ping is terminated, the others
   * are pinged. Done `heartbeatSlice` connections per event-loop turn: a ping is a socket write
   * (~10–20 µs), so pinging 2,000 connections in one turn held the loop for 25–40 ms during the
   * fan-out bench (and 10,000 for ~5×), delaying every frame queued behind it.
   */
  #beat(connections = [...this.#connections], start = 0): void {
    if (!this.#accepting) return; // shutting down
    const end = Math.min(connections.length, start + heartbeatSlice);
    for (let index = start; index < end; index++) {
      const connection = connections[index];
      if (!this.#connections.has(connection)) continue;
      if (!connection.isAlive) {
        connection.ws.terminate();
        continue;
      }
      connection.isAlive = false;
      connection.ws.ping();
    }
    if (connections.length > end) setImmediate(() => this.#beat(connections, end));
  }

  #track(task: Promise<unknown>): void {
    const tracked = task.catch(() => {}).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  async #settleTasks(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }
}

/** Connections a heartbeat pings per event-loop turn (`#beat`). */
const heartbeatSlice = 256;

/** Answers a refused upgrade with the error's HTTP status and SPEC error body, then drops the socket. */
function rejectUpgrade(socket: Duplex, error: AppError, status = error.status): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(error.toBody());
  const retryAfter =
    error.retryAfterMs === undefined ? '' : `Retry-After: ${Math.max(1, Math.ceil(error.retryAfterMs / 1000))}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}\r\n${body}`,
  );
}

const shuttingDown = () => new AppError('internal', 'Server is shutting down; reconnect to another node or retry');

function closedPromise(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) resolve();
    else ws.once('close', () => resolve());
  });
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
