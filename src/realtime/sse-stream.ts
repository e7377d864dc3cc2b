import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/auth-service.ts';
import type { Db } from '../db/database.ts';
import { readMessages } from '../messages/messages.ts';
import { corkUntilNextFlush } from './cork.ts';
import type { Hub, HubMember } from './hub.ts';
import { forwardedTypes, OutboundEvent } from './outbound-event.ts';

const heartbeatRecord = Buffer.from(': heartbeat\n\n');

/** What a stream needs from its node. */
export interface SseStreamDeps {
  db: Db;
  hub: Hub;
  /** Outbound bytes queued before the stream is ended as too slow (the client resumes with Last-Event-ID). */
  maxBufferedBytes: number;
  /** Messages per store read while replaying. */
  replayPageSize: number;
  onEnded(stream: SseStream): void;
}

/**
 * One SSE stream of one conversation (SPEC §5 over `text/event-stream`). Resume without
 * duplicates: it subscribes first and buffers live events, replays `message` events with
 * seq > `lastEventId` from the store, then sends the buffer and goes live, dropping any `message`
 * whose seq it already sent. Promise: `message` events in strictly increasing seq order, each once.
 * Ends when the user leaves the conversation, the token expires, the client is too slow, or at shutdown.
 */
export class SseStream implements HubMember {
  readonly userId: string;
  readonly workspaceId: string;
  readonly conversationId: string;
  readonly #response: ServerResponse;
  readonly #deps: SseStreamDeps;
  #buffered: OutboundEvent[] | undefined = [];
  /** Highest message seq written. */
  #floor = 0;
  #corked = false;
  #ended = false;
  #expiry: NodeJS.Timeout | undefined;

  constructor(principal: Principal, conversationId: string, response: ServerResponse, deps: SseStreamDeps) {
    this.userId = principal.userId;
    this.workspaceId = principal.workspaceId;
    this.conversationId = conversationId;
    this.#response = response;
    this.#deps = deps;
    response.on('close', () => this.end());
    if (principal.expiresAt !== undefined) {
      const remainingMs = Math.max(0, principal.expiresAt * 1000 - Date.now());
      this.#expiry = setTimeout(() => this.end(), Math.min(remainingMs, 2 ** 31 - 1));
    }
  }

  /**
   * Follows the conversation, replays from the store after `lastEventId` (when given), then
   * delivers live. Resolves when live delivery has started (or the stream ended meanwhile).
   */
  async start(lastEventId: number | undefined): Promise<void> {
    this.#deps.hub.addMember(this);
    await this.#deps.hub.follow(this, [this.conversationId]);
    if (lastEventId !== undefined) {
      this.#floor = lastEventId;
      let hasMore = true;
      while (hasMore && !this.#ended) {
        const page = await readMessages(this.#deps.db, this.conversationId, {
          afterSeq: this.#floor,
          limit: this.#deps.replayPageSize,
        });
        for (const message of page.items) await this.#replay(new OutboundEvent({ type: 'message', message }));
        hasMore = page.hasMore && page.items.length > 0;
      }
    }
    const buffered = this.#buffered ?? [];
    this.#buffered = undefined;
    for (const event of buffered) this.receive(event);
  }

  receive(event: OutboundEvent): void {
    if (event.conversationId !== undefined && event.conversationId !== this.conversationId) return;
    if (this.#buffered) {
      this.#buffered.push(event);
      return;
    }
    if (event.seq !== undefined) {
      if (event.seq <= this.#floor) return;
      this.#floor = event.seq;
    }
    this.#write(event.sse);
  }

  receiveUserEvent(event: OutboundEvent): void {
    if (event.conversationId !== this.conversationId) return;
    if (event.type === 'member.left') this.end();
    else if (forwardedTypes.has(event.type)) this.receive(event);
  }

  /** A comment line that keeps proxies from timing the stream out. */
  heartbeat(): void {
    this.#write(heartbeatRecord);
  }

  /** Ends the response and leaves the hub; idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#expiry);
    this.#deps.hub.removeMember(this, [this.conversationId]);
    this.#deps.onEnded(this);
    if (!this.#response.writableEnded) this.#response.end();
  }

  cork(): void {
    this.#response.cork();
  }

  uncork(): void {
    this.#corked = false;
    this.#response.uncork();
  }

  async #replay(event: OutboundEvent): Promise<void> {
    while (!this.#ended && this.#response.writableLength > this.#deps.maxBufferedBytes / 4) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#response.off('drain', done);
          this.#response.off('close', done);
          resolve();
        };
        this.#response.on('drain', done);
        this.#response.on('close', done);
      });
    }
    this.#floor = event.seq!;
    this.#write(event.sse);
  }

  #write(record: Buffer): void {
    if (this.#ended) return;
    if (this.#response.writableLength > this.#deps.maxBufferedBytes) {
      this.end();
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      corkUntilNextFlush(this);
    }
    this.#response.write(record);
  }
}
