import WebSocket from 'ws';
import { TestClient, wsUrl, type Frame } from '../realtime/client.ts';

/**
 * A reader of one conversation following docs/protocol.md's client algorithm across nodes: on
 * each (re)connect it syncs after the last seq it applied, page by page; a live `message` at
 * lastSeq + 1 is applied, one at or below it ignored, one beyond it (a gap) triggers another sync.
 * `applied` is what a user would see: each seq at most once, in order.
 */
export class ResumingReader {
  lastSeq = 0;
  readonly applied: Frame['message'][] = [];
  /** `message` frames dropped because their seq was already applied (counted, never shown). */
  ignored = 0;
  client: TestClient | undefined;
  #syncing: Promise<void> | undefined;
  #again = false;
  #waiters: Array<{ seq: number; resolve: () => void }> = [];
  readonly #token: string;
  readonly #conversationId: string;

  constructor(token: string, conversationId: string) {
    this.#token = token;
    this.#conversationId = conversationId;
  }

  /** Connects to `url` and syncs from the last applied seq. */
  async connect(url: string): Promise<void> {
    const client = await TestClient.connect({ url }, this.#token);
    this.client = client;
    client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'message' && frame.message.conversationId === this.#conversationId)
        this.#onMessage(client, frame.message);
    });
    await this.#sync(client);
  }

  /** Resolves once `seq` is applied; rejects after `timeoutMs`. */
  until(seq: number, timeoutMs: number): Promise<void> {
    if (this.lastSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reader at seq ${this.lastSeq}, waited ${timeoutMs} ms for ${seq}`)),
        timeoutMs,
      );
      this.#waiters.push({
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  #onMessage(client: TestClient, message: Frame['message']): void {
    if (message.seq <= this.lastSeq) {
      this.ignored++;
      return;
    }
    if (message.seq > this.lastSeq + 1) {
      void this.#sync(client);
      return;
    }
    this.lastSeq = message.seq;
    this.applied.push(message);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.seq > this.lastSeq) return true;
      waiter.resolve();
      return false;
    });
  }

  /** One sync at a time per conversation (the server answers a second with conflict): a request during one runs again after it. */
  #sync(client: TestClient): Promise<void> {
    if (this.#syncing) {
      this.#again = true;
      return this.#syncing;
    }
    this.#syncing = (async () => {
      do {
        this.#again = false;
        for (;;) {
          const ack = await client.request(
            { type: 'sync', conversationId: this.#conversationId, afterSeq: this.lastSeq, limit: 500 },
            30_000,
          );
          if (ack.type !== 'ack') throw new Error(`sync refused: ${JSON.stringify(ack)}`);
          if (!ack.hasMore) break;
        }
      } while (this.#again);
    })()
      .catch(() => undefined) // the connection dropped: the next connect syncs again
      .finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }
}

/**
 * Sends `send` frames for `clientMsgIds` in order over one WebSocket to `url`, at most `window` in
 * flight, recording each ack's seq in `acked`. Resolves when every id is acked or the connection
 * dropped (the caller resends what is left, with the same ids, on another node).
 */
export async function sendBurst(options: {
  url: string;
  token: string;
  conversationId: string;
  clientMsgIds: readonly string[];
  acked: Map<string, number>;
  window?: number;
  onAck?: () => void;
}): Promise<void> {
  const ws = new WebSocket(wsUrl({ url: options.url }), { headers: { authorization: `Bearer ${options.token}` } });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waiting = new Map<string, () => void>();
  let closed = false;
  const settleAll = () => {
    for (const resolve of waiting.values()) resolve();
    waiting.clear();
  };
  ws.on('close', () => {
    closed = true;
    settleAll();
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    if ((frame.type !== 'ack' && frame.type !== 'error') || typeof frame.id !== 'string') return;
    if (frame.type === 'ack') {
      options.acked.set(frame.id, frame.message.seq);
      options.onAck?.();
    }
    waiting.get(frame.id)?.();
    waiting.delete(frame.id);
  });
  const window = options.window ?? 64;
  const inFlight = new Set<Promise<void>>();
  for (const id of options.clientMsgIds) {
    if (closed) break;
    if (options.acked.has(id)) continue;
    while (inFlight.size >= window && !closed) await Promise.race(inFlight);
    if (closed) break;
    const done = new Promise<void>((resolve) => waiting.set(id, resolve));
    const tracked = done.then(() => void inFlight.delete(tracked));
    inFlight.add(tracked);
    ws.send(
      JSON.stringify({ type: 'send', id, conversationId: options.conversationId, clientMsgId: id, content: `burst ${id}` }),
    );
  }
  await Promise.all(inFlight);
  ws.terminate();
}
