import WebSocket from 'ws';
import { normalizeFrame } from '../../web/src/client/wire.ts';
import type { ServerFrame } from '../../web/src/client/types.ts';
import type { TestServer } from '../support/server.ts';

/** A frame as received (parsed JSON). */
export type Frame = { type: string; id?: unknown; [field: string]: any };

/** A close as seen by the client. */
export interface Closed {
  code: number;
  reason: string;
}

/** The WebSocket URL of a test server. */
export const wsUrl = (server: Pick<TestServer, 'url'>) => `${server.url.replace(/^http/, 'ws')}/api/v1/ws`;

/**
 * A WebSocket test client that records every frame. Like any client it reads both forms of a
 * message (docs/protocol.md, compact message frames): `message`, `message.done` and
 * `message.updated` frames are normalised to the REST shape on receipt, unless `raw` is set
 * (for tests of the wire form itself). `take(predicate)` resolves with the first
 * frame not yet taken that matches (waiting for it if needed); `request(frame)` gives the frame an
 * id and resolves with its `ack`/`error`/`pong`. Waits fail after `timeoutMs` instead of hanging.
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly closed: Promise<Closed>;
  #inbox = new Inbox<Frame>('frame', (frames) => JSON.stringify(frames.map((frame) => frame.type)));
  #nextId = 1;

  constructor(ws: WebSocket, { raw = false }: { raw?: boolean } = {}) {
    this.ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.#onFrame(raw ? frame : (normalizeFrame(frame as ServerFrame) as Frame));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
  }

  /** Opens a connection (Bearer `token` when given) and waits until the server follows the user's conversations. */
  static async connect(
    server: Pick<TestServer, 'url'>,
    token?: string,
    options: WebSocket.ClientOptions = {},
    { raw = false }: { raw?: boolean } = {},
  ): Promise<TestClient> {
    const headers = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers };
    const client = new TestClient(new WebSocket(wsUrl(server), { ...options, headers }), { raw });
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', resolve);
      client.ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
      client.ws.once('error', reject);
    });
    // Frames wait for the connection to start, so the pong means it follows every conversation.
    if (token) await client.request({ type: 'ping' });
    return client;
  }

  /** Sends a raw frame (object → JSON, string as is). */
  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends `frame` with a fresh id; resolves with the answer carrying that id (ack, error or pong). */
  async request(frame: Record<string, unknown>, timeoutMs?: number): Promise<Frame> {
    const id = `r${this.#nextId++}`;
    this.send({ ...frame, id });
    return this.take((received) => received.id === id && ['ack', 'error', 'pong'].includes(received.type), timeoutMs);
  }

  /** Every frame received so far, in arrival order. */
  get frames(): Frame[] {
    return this.#inbox.items;
  }

  /** The first untaken frame matching `predicate`, now or when it arrives. */
  take(predicate: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    return this.#inbox.take(predicate, timeoutMs);
  }

  /** `message` frames received so far for `conversationId`, as seqs in arrival order. */
  messageSeqs(conversationId: string): number[] {
    return this.frames
      .filter((frame) => frame.type === 'message' && frame.message.conversationId === conversationId)
      .map((frame) => frame.message.seq);
  }

  close(): Promise<Closed> {
    this.ws.close();
    return this.closed;
  }

  #onFrame(frame: Frame): void {
    this.#inbox.push(frame);
  }
}

/** One parsed Server-Sent Event (comments are kept as `{comment}`). */
export interface SseEvent {
  event?: string;
  id?: string;
  data?: any;
  comment?: string;
}

/**
 * A streaming SSE reader over fetch: records every event and comment, `take(predicate)` as in
 * TestClient; `ended` resolves when the server ends the stream.
 */
export class SseReader {
  readonly ended: Promise<void>;
  readonly status: number;
  #controller: AbortController;
  #inbox = new Inbox<SseEvent>('SSE event', (events) => JSON.stringify(events));

  private constructor(response: Response, controller: AbortController) {
    this.status = response.status;
    this.#controller = controller;
    this.ended = this.#read(response);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const controller = new AbortController();
    const response = await fetch(url, { headers, signal: controller.signal });
    return new SseReader(response, controller);
  }

  /** Every event received so far, in arrival order. */
  get events(): SseEvent[] {
    return this.#inbox.items;
  }

  /** The first untaken event matching `predicate`, now or when it arrives. */
  take(predicate: (event: SseEvent) => boolean, timeoutMs = 5_000): Promise<SseEvent> {
    return this.#inbox.take(predicate, timeoutMs);
  }

  /** Seqs of the `message` events so far, in arrival order. */
  messageSeqs(): number[] {
    return this.events.filter((event) => event.event === 'message').map((event) => event.data.message.seq);
  }

  close(): void {
    this.#controller.abort();
  }

  async #read(response: Response): Promise<void> {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      const reader = response.body.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.#onRecord(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted by close()
    }
  }

  #onRecord(record: string): void {
    const event: SseEvent = {};
    for (const line of record.split('\n')) {
      if (line.startsWith(':')) event.comment = line.slice(1).trim();
      else if (line.startsWith('event: ')) event.event = line.slice(7);
      else if (line.startsWith('id: ')) event.id = line.slice(4);
      else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6));
    }
    if (Object.keys(event).length === 0) return;
    this.#inbox.push(event);
  }
}

/**
 * Items received in order, each taken at most once: `take` resolves with the first untaken item
 * matching its predicate, already here or arriving within `timeoutMs`, else rejects naming what came.
 */
class Inbox<T> {
  readonly items: T[] = [];
  readonly #taken = new Set<T>();
  readonly #waiters: Array<{ predicate: (item: T) => boolean; resolve: (item: T) => void }> = [];
  readonly #noun: string;
  readonly #describe: (items: T[]) => string;

  constructor(noun: string, describe: (items: T[]) => string) {
    this.#noun = noun;
    this.#describe = describe;
  }

  push(item: T): void {
    this.items.push(item);
    const index = this.#waiters.findIndex((waiter) => waiter.predicate(item));
    if (index === -1) return;
    const [waiter] = this.#waiters.splice(index, 1);
    this.#taken.add(item);
    waiter.resolve(item);
  }

  take(predicate: (item: T) => boolean, timeoutMs: number): Promise<T> {
    const found = this.items.find((item) => !this.#taken.has(item) && predicate(item));
    if (found) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no matching ${this.#noun} within ${timeoutMs} ms; got ${this.#describe(this.items)}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }
}
