import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { authenticate, type Principal } from '../auth/auth-service.ts';
import { AppError, toAppError } from '../errors/app-error.ts';
import type { AppContext } from '../http/context.ts';
import { parseRawFrame, type FrameId } from './client-frames.ts';
import { closeCodes, type CloseReason } from './close-codes.ts';
import { corkUntilNextFlush } from './cork.ts';
import type { Hub, HubMember } from './hub.ts';
import { listConversationIds } from './memberships.ts';
import { forwardedTypes, OutboundEvent } from './outbound-event.ts';
import { countConnectionClosed, countConnectionOpened, type OnlineCoMembers } from './presence.ts';
import { SyncPositions } from './sync-positions.ts';

/** What every connection of a node shares. */
export interface ConnectionDeps {
  context: AppContext;
  hub: Hub;
  /** Outbound bytes a connection may have queued before it is closed with 4008. */
  maxBufferedBytes: number;
  /** Frames of one connection handled at once; beyond it the socket stops being read. */
  maxInFlightFrames: number;
  /** Runs one authenticated frame (the command table). Throws AppError. */
  runFrame(connection: Connection, raw: ReturnType<typeof parseRawFrame>): Promise<void>;
  /** The presence snapshot sent once a connection is live, shared by a user's tabs starting together. */
  coMembers: OnlineCoMembers;
  /** Keeps a frame handler's promise so shutdown can wait for in-flight work. */
  track(task: Promise<unknown>): void;
  onClosed(connection: Connection): void;
}

/**
 * One WebSocket connection: authentication state, the conversations it follows, outbound writes
 * (corked per event-loop turn, bounded by `maxBufferedBytes`) and the sync/live hand-over per
 * conversation (`SyncPositions`). Kept small: 10,000 idle connections must fit in 250 MB.
 */
export class Connection implements HubMember {
  readonly ws: WebSocket;
  readonly #socket: Duplex;
  readonly #deps: ConnectionDeps;
  #principal: Principal | undefined;
  /** Resolves when the connection follows its conversations; frames wait for it. */
  #started: Promise<void> | undefined;
  #conversationIds = new Set<string>();
  /** User-topic events that arrived while membership was loading, applied after it. */
  #earlyUserEvents: OutboundEvent[] | undefined = [];
  /** Set while the conversation set loads (`#loadMembership`): tabs of the same user starting meanwhile wait for it. */
  #membership: Promise<string[] | undefined> | undefined;
  readonly positions = new SyncPositions();
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #corked = false;
  #closed = false;
  #stoppedReading = false;
  /** Whether this connection was counted for presence (and must be uncounted at close). */
  #counted = false;
  /** Cleared by each heartbeat ping, set by each pong or frame. */
  isAlive = true;

  constructor(ws: WebSocket, socket: Duplex, deps: ConnectionDeps) {
    this.ws = ws;
    this.#socket = socket;
    this.#deps = deps;
    ws.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on('pong', () => (this.isAlive = true));
    ws.on('close', () => this.#onClose());
    ws.on('error', () => {});
  }

  get principal(): Principal {
    if (!this.#principal) throw new AppError('unauthorized', 'Authenticate first');
    return this.#principal;
  }

  get userId(): string {
    return this.principal.userId;
  }

  get workspaceId(): string {
    return this.principal.workspaceId;
  }

  get context(): AppContext {
    return this.#deps.context;
  }

  /** Whether the connection follows `conversationId` (the live side of the membership check). */
  follows(conversationId: string): boolean {
    return this.#conversationIds.has(conversationId);
  }

  /** Waits `timeoutMs` for an `auth` frame; closes with 4401 when none arrives. */
  expectAuthFrame(timeoutMs: number): void {
    this.#timer = setTimeout(() => this.close('unauthorized', 'no auth frame in time'), timeoutMs);
  }

  /**
   * Makes the connection live for `principal`: follows the user's topic and every conversation they
   * belong to, counts them online, then sends `presence` for their co-members already online.
   */
  start(principal: Principal): Promise<void> {
    this.#started ??= this.#start(principal);
    return this.#started;
  }

  async #start(principal: Principal): Promise<void> {
    this.#setPrincipal(principal);
    const { hub, context, coMembers } = this.#deps;
    hub.addMember(this);
    let ids: string[] | undefined;
    try {
      ids = await (this.#membership = this.#loadMembership(principal));
    } finally {
      this.#membership = undefined; // loaded tabs are read live (`#livePeerIds`); failed ones not at all
    }
    if (ids === undefined) return;
    this.#counted = true;
    const subscribed = coMembers.mark();
    await countConnectionOpened(context.bus, principal.workspaceId, principal.userId, ids);
    for (const userId of await coMembers.list(principal.userId, ids, subscribed)) {
      this.sendFrame({ type: 'presence', userId, status: 'online' });
    }
  }

  /**
   * Fills the conversation set (from a tab of the same user on this node when there is one, else
   * from the store), follows it, then applies the user events that arrived meanwhile. Resolves to
   * a copy of the set, exact at that moment, or undefined when the connection closed meanwhile.
   */
  async #loadMembership(principal: Principal): Promise<string[] | undefined> {
    const ids =
      this.#livePeerIds() ??
      (await this.#pendingPeerIds()) ??
      (await listConversationIds(this.#deps.context.db, principal.workspaceId, principal.userId));
    if (this.#closed) return undefined;
    for (const id of ids) this.#conversationIds.add(id);
    await this.#deps.hub.follow(this, ids);
    const early = this.#earlyUserEvents ?? [];
    this.#earlyUserEvents = undefined;
    for (const event of early) this.receiveUserEvent(event);
    if (this.#closed) return undefined;
    return [...this.#conversationIds];
  }

  /** The same user's other connections on this node (their other tabs), oldest first. */
  *#peers(): Generator<Connection> {
    for (const member of this.#deps.hub.localMembersOf(this.userId)) {
      if (member !== this && member instanceof Connection && !member.#closed) yield member;
    }
  }

  /**
   * The set of a started tab of the same user on this node, if there is one: it is exact now
   * (membership events change it synchronously, and from `addMember` on this connection gets them
   * too), so the store need not be asked again.
   */
  #livePeerIds(): string[] | undefined {
    for (const peer of this.#peers()) if (peer.#earlyUserEvents === undefined) return [...peer.#conversationIds];
    return undefined;
  }

  /**
   * The set of a tab of the same user still loading its own, once it has (undefined when it
   * failed or closed): a burst of one user's connections (a reconnect after a restart) reads the
   * store once. Its copy is taken after this connection joined the hub, so the user events this
   * connection queued from then on bring it up to date.
   */
  async #pendingPeerIds(): Promise<string[] | undefined> {
    for (const peer of this.#peers()) {
      if (peer.#membership) return peer.#membership.catch(() => undefined);
    }
    return undefined;
  }

  /** Replaces the credential (an `auth` frame on a live connection): same user only; resets the expiry. */
  reauthenticate(principal: Principal): void {
    if (principal.userId !== this.principal.userId || principal.workspaceId !== this.principal.workspaceId) {
      throw new AppError('forbidden', 'A connection cannot change user');
    }
    this.#setPrincipal(principal);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  receive(event: OutboundEvent): void {
    if (event.conversationId === undefined || this.positions.admit(event)) this.#write(event);
  }

  receiveUserEvent(event: OutboundEvent): void {
    if (this.#earlyUserEvents) {
      this.#earlyUserEvents.push(event);
      return;
    }
    const frame = event.frame;
    if (frame.type === 'member.joined' && typeof frame.conversationId === 'string') {
      void this.#join(frame.conversationId, frame.conversation);
    } else if (frame.type === 'member.left' && typeof frame.conversationId === 'string') {
      this.#leave(frame.conversationId);
    } else if (forwardedTypes.has(event.type)) {
      this.#write(event);
    }
  }

  /** Sends one frame to this connection only (acks, errors, replies). */
  sendFrame(frame: { type: string; [field: string]: unknown }): void {
    this.#write(new OutboundEvent(frame));
  }

  /** Writes an event already admitted by `positions` (bounded by the slow-reader limit). */
  sendEvent(event: OutboundEvent): void {
    this.#write(event);
  }

  /** `ack {id, ...fields}` */
  ack(id: FrameId | undefined, fields: Record<string, unknown> = {}): void {
    this.sendFrame({ type: 'ack', id: id ?? null, ...fields });
  }

  /** `error {id, code, message}` (+ `retryAfterMs`, `details` when present). Server faults are logged. */
  sendError(id: FrameId | undefined, error: unknown): void {
    const appError = toAppError(error);
    if (appError.code === 'internal') this.#deps.context.logger.error({ err: error }, 'websocket frame failed');
    if (appError.code === 'unavailable')
      this.#deps.context.logger.warn({ err: error }, 'websocket frame failed: a dependency is unreachable');
    this.sendFrame({
      type: 'error',
      id: id ?? null,
      code: appError.code,
      message: appError.message,
      ...(appError.retryAfterMs === undefined ? {} : { retryAfterMs: appError.retryAfterMs }),
      ...(appError.details === undefined ? {} : { details: appError.details }),
    });
  }

  /**
   * Sends a replayed frame (sync) with flow control: waits while more than a quarter of
   * `maxBufferedBytes` is queued, so a large replay never trips the slow-reader limit.
   */
  async sendReplay(event: OutboundEvent): Promise<void> {
    while (this.isOpen && this.ws.bufferedAmount > this.#deps.maxBufferedBytes / 4) await this.#drained();
    this.#write(event);
  }

  /** Stops reading frames for good (shutdown): frames already received still finish. */
  stopReading(): void {
    this.#stoppedReading = true;
    this.ws.pause();
  }

  /** Closes with the given published code; the reason defaults to the code's own. */
  close(reason: CloseReason, detail?: string): void {
    const { code, reason: text } = closeCodes[reason];
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, detail ?? text);
  }

  /** Node's cork for `corkUntilNextFlush`. */
  cork(): void {
    this.#socket.cork();
  }

  uncork(): void {
    this.#corked = false;
    this.#socket.uncork();
  }

  /**
   * Writes the event's pre-built frame straight to the socket. Safe beside ws's own sender because
   * it only queues while compressing (off) or reading a Blob (never sent here); `bufferedAmount`
   * still counts these bytes, since they sit in the socket's buffer.
   */
  #write(event: OutboundEvent): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const frame = event.wsFrame;
    if (this.ws.bufferedAmount + frame.length > this.#deps.maxBufferedBytes) {
      this.close('tooSlow');
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      corkUntilNextFlush(this);
    }
    this.#socket.write(frame);
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  #setPrincipal(principal: Principal): void {
    this.#principal = principal;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (principal.expiresAt !== undefined) {
      const remainingMs = Math.max(0, principal.expiresAt * 1000 - Date.now());
      this.#timer = setTimeout(() => this.close('unauthorized', 'token expired'), Math.min(remainingMs, 2 ** 31 - 1));
    }
  }

  async #join(conversationId: string, conversation: unknown): Promise<void> {
    if (this.#conversationIds.has(conversationId)) return;
    this.#conversationIds.add(conversationId);
    await this.#deps.hub.follow(this, [conversationId]);
    // Sent after following: a client that syncs on this frame cannot miss a message.
    if (this.#conversationIds.has(conversationId)) this.sendFrame({ type: 'conversation.joined', conversation });
  }

  #leave(conversationId: string): void {
    if (!this.#conversationIds.delete(conversationId)) return;
    this.#deps.hub.unfollow(this, conversationId);
    this.positions.forget(conversationId);
    this.sendFrame({ type: 'conversation.left', conversationId });
  }

  #onFrame(data: WebSocket.RawData, isBinary: boolean): void {
    this.isAlive = true;
    if (++this.#inFlight >= this.#deps.maxInFlightFrames) this.ws.pause();
    const task = this.#handleFrame(data, isBinary).finally(() => {
      if (this.#inFlight-- === this.#deps.maxInFlightFrames && this.isOpen && !this.#stoppedReading) this.ws.resume();
    });
    this.#deps.track(task);
  }

  async #handleFrame(data: WebSocket.RawData, isBinary: boolean): Promise<void> {
    let id: FrameId | undefined;
    try {
      const raw = parseRawFrame(data, isBinary);
      id = raw.id;
      if (!this.#started) {
        this.#started = this.#authenticateWithFrame(raw);
        return await this.#started;
      }
      await this.#started;
      if (!this.isOpen) return;
      await this.#deps.runFrame(this, raw);
    } catch (error) {
      if (this.#principal && this.isOpen) this.sendError(id, error);
      else this.close('unauthorized', 'authentication failed');
    }
  }

  /** The first frame of a connection without `Authorization`: `auth {token}`, answered by `ack {userId}`. */
  async #authenticateWithFrame(raw: ReturnType<typeof parseRawFrame>): Promise<void> {
    if (raw.type !== 'auth' || typeof raw.value.token !== 'string')
      throw new AppError('unauthorized', 'The first frame must be auth');
    const principal = await authenticate(this.#deps.context, raw.value.token);
    if (this.#closed) return;
    try {
      await this.#start(principal);
    } catch (error) {
      this.#deps.context.logger.error({ err: error }, 'starting a websocket connection failed');
      this.close('internal');
      throw error;
    }
    this.ack(raw.id, { userId: principal.userId });
  }

  #onClose(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#deps.onClosed(this);
    const started = this.#started;
    const principal = this.#principal;
    if (!started) return;
    const { hub, context } = this.#deps;
    const cleanup = started
      .catch(() => {})
      .then(async () => {
        hub.removeMember(this, this.#conversationIds);
        if (this.#counted && principal)
          await countConnectionClosed(context.bus, principal.workspaceId, principal.userId, [...this.#conversationIds]);
      })
      .catch((error) => context.logger.error({ err: error }, 'presence update failed'));
    this.#deps.track(cleanup);
  }
}
