import { backoffDelayMs, defaultBackoff, type BackoffOptions } from './backoff.ts';
import { ChorusError } from './errors.ts';
import type { ClientFrame, ServerEvent, ServerFrame } from './types.ts';
import { normalizeFrame } from './wire.ts';

/**
 * `connecting`: opening or authenticating; `open`: authenticated, frames flow; `waiting`: dropped,
 * a reconnect is scheduled; `offline`: the device is offline, reconnects when it is back;
 * `closed`: stopped (by `stop()` or a refusal that retrying cannot fix).
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'waiting' | 'offline' | 'closed';

/** Where to connect, how to get tokens, and the timings (all in ms). */
export interface RealtimeClientOptions {
  /** `ws://…/api/v1/ws` or `wss://…/api/v1/ws`. */
  url: string;
  /** The access token to authenticate with; `rejected` is a token the server just refused (refresh it). */
  getToken(rejected?: string): Promise<string>;
  /** The session cannot be renewed: the client has stopped. */
  onUnauthorized?: (error: unknown) => void;
  WebSocket?: typeof WebSocket;
  backoff?: BackoffOptions;
  /** A request without an answer after this long rejects with `timeout`. */
  requestTimeoutMs?: number;
  /** A ping is sent after this long without any frame; no answer within `requestTimeoutMs` drops the connection. */
  heartbeatIntervalMs?: number;
  /** A JWT access token is renewed on the live connection this long before it expires. Default 60 s. */
  renewBeforeExpiryMs?: number;
  /** Follow the environment's online/offline events (browsers). Default true when available. */
  watchNetwork?: boolean;
}

type Pending = {
  resolve: (ack: Record<string, unknown>) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
};

/**
 * One WebSocket to Chorus that stays up: authenticates with a first `auth` frame, reconnects with
 * backoff after any drop, refreshes the token on 4401, answers `request` through `ack`/`error`,
 * and hands every other server frame to `onEvent` listeners in arrival order. After each
 * (re)authentication the `onOpen` listeners run (sync from the last seen seq there).
 */
export class RealtimeClient {
  readonly #options: RealtimeClientOptions;
  #socket: WebSocket | null = null;
  #status: ConnectionStatus = 'idle';
  #attempt = 0;
  #nextId = 1;
  #pending = new Map<string, Pending>();
  #events = new Set<(event: ServerEvent) => void>();
  #statusListeners = new Set<(status: ConnectionStatus) => void>();
  #openListeners = new Set<() => void>();
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  #renewTimer: ReturnType<typeof setTimeout> | null = null;
  #token: string | null = null;
  #stopped = true;
  #unwatchNetwork: (() => void) | null = null;

  constructor(options: RealtimeClientOptions) {
    this.#options = options;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Subscribes to server events; returns the unsubscribe function. */
  onEvent(listener: (event: ServerEvent) => void): () => void {
    this.#events.add(listener);
    return () => this.#events.delete(listener);
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Called after every successful (re)authentication, before queued work is retried. */
  onOpen(listener: () => void): () => void {
    this.#openListeners.add(listener);
    return () => this.#openListeners.delete(listener);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#watchNetwork();
    if (this.#isDeviceOffline()) this.#setStatus('offline');
    else void this.#connect();
  }

  /** Closes the connection for good; pending requests reject with `closed`. */
  stop(): void {
    this.#stopped = true;
    this.#unwatchNetwork?.();
    this.#unwatchNetwork = null;
    this.#clearTimers();
    this.#socket?.close(1000, 'client stopped');
    this.#socket = null;
    this.#failPending(new ChorusError('closed', 'Connection stopped'));
    this.#setStatus('closed');
  }

  /** Skips the backoff wait and reconnects now (e.g. the user pressed "Reconnect"). */
  reconnectNow(): void {
    if (this.#stopped || this.#status === 'open' || this.#status === 'connecting') return;
    this.#attempt = 0;
    void this.#connect();
  }

  /**
   * Sends `frame` with a fresh `id` and resolves with the server's `ack` fields. Rejects with the
   * server's `error` code, `closed` if the connection is not open or drops first, or `timeout`.
   */
  request(frame: ClientFrame): Promise<Record<string, unknown>> {
    const socket = this.#socket;
    if (!socket || this.#status !== 'open') return Promise.reject(new ChorusError('closed', 'Not connected'));
    const id = String(this.#nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ChorusError('timeout', `No answer to ${frame.type}`));
      }, this.#options.requestTimeoutMs ?? 10_000);
      this.#pending.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  /** Sends `frame` without waiting for an answer; false when not connected (the frame is dropped). */
  notify(frame: ClientFrame): boolean {
    if (!this.#socket || this.#status !== 'open') return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  async #connect(): Promise<void> {
    this.#clearTimers();
    this.#setStatus('connecting');
    let token: string;
    try {
      token = await this.#options.getToken();
    } catch (error) {
      return this.#tokenFailed(error);
    }
    if (this.#stopped) return;
    this.#token = token;
    const Socket = this.#options.WebSocket ?? globalThis.WebSocket;
    const socket = new Socket(this.#options.url);
    this.#socket = socket;
    const authId = `auth-${this.#nextId++}`;
    // A handshake or auth that hangs is cut like a lost connection (and retried with backoff).
    this.#heartbeatTimer = setTimeout(() => socket.close(4000, 'connect timeout'), this.#options.requestTimeoutMs ?? 10_000);
    socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token, id: authId }));
    socket.onmessage = (event) => {
      if (socket !== this.#socket) return;
      let frame: ServerFrame;
      try {
        frame = normalizeFrame(JSON.parse(String(event.data)) as ServerFrame);
      } catch {
        return;
      }
      this.#armHeartbeat();
      if (this.#status === 'connecting') {
        // `ack {id: authId, userId}` opens; a refused auth closes with 4401 (handled in onclose).
        if (frame.type === 'ack' && frame.id === authId) return this.#opened();
        if (frame.type === 'ack' || frame.type === 'error' || frame.type === 'pong') return;
        this.#opened();
      }
      this.#dispatch(frame);
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      this.#socket = null;
      void this.#closed(event.code, token);
    };
  }

  #opened(): void {
    this.#attempt = 0;
    this.#setStatus('open');
    this.#armHeartbeat();
    this.#scheduleRenewal();
    for (const listener of this.#openListeners) listener();
  }

  #dispatch(frame: ServerFrame): void {
    if (
      frame.type === 'ack' ||
      (frame.type === 'error' && frame.id !== undefined) ||
      (frame.type === 'pong' && frame.id !== undefined)
    ) {
      const pending = frame.id === undefined ? undefined : this.#pending.get(frame.id);
      if (!pending) return;
      this.#pending.delete(frame.id as string);
      clearTimeout(pending.timer);
      if (frame.type === 'error') pending.reject(new ChorusError(frame.code, frame.message));
      else pending.resolve(frame as Record<string, unknown>);
      return;
    }
    if (frame.type === 'error' || frame.type === 'pong') return;
    for (const listener of this.#events) listener(frame);
  }

  async #closed(code: number, token: string): Promise<void> {
    this.#clearTimers();
    this.#failPending(new ChorusError('closed', `Connection closed (${code})`));
    if (this.#stopped) return;
    if (code === 4401) {
      try {
        await this.#options.getToken(token);
      } catch (error) {
        return this.#tokenFailed(error);
      }
    }
    // Every other close (docs/protocol.md, close codes) means: reconnect with backoff, then sync.
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    if (this.#isDeviceOffline()) return this.#setStatus('offline');
    this.#setStatus('waiting');
    const delay = backoffDelayMs(this.#attempt++, this.#options.backoff ?? defaultBackoff);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), delay);
  }

  /**
   * Sends a fresh token on the live connection a minute before the current one expires, so the
   * server does not close it with 4401 (which would cost a reconnect and a sync).
   */
  #scheduleRenewal(): void {
    const expiresAtMs = this.#token ? tokenExpiryMs(this.#token) : undefined;
    if (expiresAtMs === undefined) return;
    const delayMs = Math.max(1_000, expiresAtMs - Date.now() - (this.#options.renewBeforeExpiryMs ?? 60_000));
    this.#renewTimer = setTimeout(() => void this.#renew(), Math.min(delayMs, 2 ** 31 - 1));
  }

  async #renew(): Promise<void> {
    const current = this.#token;
    if (!current || this.#status !== 'open') return;
    try {
      const fresh = await this.#options.getToken(current);
      await this.request({ type: 'auth', token: fresh });
      this.#token = fresh;
      this.#scheduleRenewal();
    } catch {
      // The server closes with 4401 when the old token expires; that path refreshes and reconnects.
    }
  }

  #armHeartbeat(): void {
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer);
    const interval = this.#options.heartbeatIntervalMs ?? 25_000;
    this.#heartbeatTimer = setTimeout(() => {
      this.request({ type: 'ping' }).catch(() => this.#socket?.close(4000, 'heartbeat lost'));
    }, interval);
  }

  /** A refused session stops the client; anything else (no network) is retried with backoff. */
  #tokenFailed(error: unknown): void {
    if (!(error instanceof ChorusError) || error.code !== 'unauthorized') return this.#scheduleReconnect();
    this.#stopped = true;
    this.#setStatus('closed');
    this.#options.onUnauthorized?.(error);
  }

  #failPending(error: ChorusError): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }

  #clearTimers(): void {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer);
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    this.#reconnectTimer = this.#heartbeatTimer = this.#renewTimer = null;
  }

  #setStatus(status: ConnectionStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#statusListeners) listener(status);
  }

  #isDeviceOffline(): boolean {
    return (this.#options.watchNetwork ?? true) && typeof navigator !== 'undefined' && navigator.onLine === false;
  }

  #watchNetwork(): void {
    const target = globalThis as {
      addEventListener?: Window['addEventListener'];
      removeEventListener?: Window['removeEventListener'];
    };
    if (!(this.#options.watchNetwork ?? true) || typeof target.addEventListener !== 'function') return;
    const offline = () => {
      this.#clearTimers();
      this.#setStatus('offline');
      // The socket may linger half-open; drop it now and come back through sync.
      const socket = this.#socket;
      this.#socket = null;
      socket?.close(4000, 'offline');
      this.#failPending(new ChorusError('closed', 'Offline'));
    };
    const online = () => {
      if (this.#stopped || this.#status === 'open' || this.#status === 'connecting') return;
      this.#attempt = 0;
      void this.#connect();
    };
    target.addEventListener('offline', offline);
    target.addEventListener('online', online);
    this.#unwatchNetwork = () => {
      target.removeEventListener?.('offline', offline);
      target.removeEventListener?.('online', online);
    };
  }
}

/** The `exp` of a JWT in ms since the epoch; undefined for anything else (e.g. an API key). */
function tokenExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
