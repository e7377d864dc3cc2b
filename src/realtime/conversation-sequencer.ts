import type { OutboundEvent } from './outbound-event.ts';

/** What a sequencer needs from its node. */
export interface SequencerDeps {
  /** How long a `message` whose predecessor has not arrived is held before the gap is read from the store. */
  holdMs: number;
  /** `message` events with `afterSeq < seq < beforeSeq`, ascending (at most 500 are asked for at once). */
  loadGap(conversationId: string, afterSeq: number, beforeSeq: number): Promise<OutboundEvent[]>;
  /** Receives every event, in order. */
  emit(event: OutboundEvent): void;
  onError(error: unknown): void;
}

const maxGapFill = 500;

/**
 * Puts one conversation's live events back in seq order on one node. Appends publish after their
 * commit, so with a connection pool seq 11 can be published before seq 10: a `message` whose
 * predecessor is missing is held (with every event after it, keeping their relative order) until
 * the predecessor arrives or `holdMs` passes; then the gap is read from the store. Late arrivals of
 * seqs already emitted are dropped. Promise: `emit` sees `message` seqs strictly increasing and
 * without gaps from the base onwards (a gap the store cannot fill is skipped; clients sync on gaps).
 *
 * The base (the conversation's last seq read after this node subscribed) comes from `setBase`;
 * events that arrive before it are queued.
 */
export class ConversationSequencer {
  readonly #conversationId: string;
  readonly #deps: SequencerDeps;
  #baseKnown = false;
  /** Last emitted seq; undefined after `setBase(undefined)` until the first message sets it. */
  #lastSeq: number | undefined;
  #pending: OutboundEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #filling = false;
  #closed = false;

  constructor(conversationId: string, deps: SequencerDeps) {
    this.#conversationId = conversationId;
    this.#deps = deps;
  }

  /**
   * Sets the conversation's last seq as read after subscribing; undefined = unknown (accept the
   * next message as is). Messages already queued are live arrivals, so none of them is dropped:
   * the base moves back to just before the first one when they are at or below `lastSeq`.
   */
  setBase(lastSeq: number | undefined): void {
    if (this.#baseKnown) return;
    this.#baseKnown = true;
    const firstQueued = this.#pending.find((event) => event.seq !== undefined)?.seq;
    this.#lastSeq = lastSeq !== undefined && firstQueued !== undefined ? Math.min(lastSeq, firstQueued - 1) : lastSeq;
    this.#drain();
  }

  /** Takes one live event of the conversation. */
  push(event: OutboundEvent): void {
    if (this.#closed) return;
    if (this.#baseKnown && !this.#filling && this.#pending.length === 0) {
      if (event.seq === undefined) return this.#deps.emit(event);
      if (this.#isNext(event.seq)) return this.#emitMessage(event);
      if (this.#isStale(event.seq)) return;
    }
    this.#enqueue(event);
    this.#drain();
  }

  /** Stops timers; later events are ignored. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#pending = [];
  }

  #isNext(seq: number): boolean {
    return this.#lastSeq === undefined || seq === this.#lastSeq + 1;
  }

  #isStale(seq: number): boolean {
    return this.#lastSeq !== undefined && seq <= this.#lastSeq;
  }

  #emitMessage(event: OutboundEvent): void {
    this.#lastSeq = event.seq;
    this.#deps.emit(event);
  }

  /** Messages are inserted by seq among the pending messages; other events keep arrival order. */
  #enqueue(event: OutboundEvent): void {
    if (event.seq === undefined) {
      this.#pending.push(event);
      return;
    }
    if (this.#baseKnown && this.#isStale(event.seq)) return;
    const seq = event.seq;
    const index = this.#pending.findIndex((pending) => pending.seq !== undefined && pending.seq >= seq);
    if (index === -1) this.#pending.push(event);
    else if (this.#pending[index].seq !== seq) this.#pending.splice(index, 0, event);
  }

  #drain(): void {
    if (!this.#baseKnown || this.#filling || this.#closed) return;
    while (this.#pending.length > 0) {
      const head = this.#pending[0];
      if (head.seq === undefined) {
        this.#pending.shift();
        this.#deps.emit(head);
      } else if (this.#isStale(head.seq)) {
        this.#pending.shift();
      } else if (this.#isNext(head.seq)) {
        this.#pending.shift();
        this.#emitMessage(head);
      } else {
        this.#timer ??= setTimeout(() => void this.#fillGap(), this.#deps.holdMs);
        return;
      }
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #fillGap(): Promise<void> {
    this.#timer = undefined;
    const head = this.#pending.find((event) => event.seq !== undefined);
    if (!head || this.#lastSeq === undefined || this.#closed) return this.#drain();
    const before = head.seq!;
    const after = Math.max(this.#lastSeq, before - 1 - maxGapFill);
    this.#filling = true;
    let filled: OutboundEvent[] = [];
    try {
      filled = await this.#deps.loadGap(this.#conversationId, after, before);
    } catch (error) {
      this.#deps.onError(error);
    }
    this.#filling = false;
    if (this.#closed) return;
    for (const event of filled) {
      if (event.seq !== undefined && event.seq > this.#lastSeq && event.seq < before) this.#emitMessage(event);
    }
    // Whatever the store could not give is skipped: clients see the gap by seq and sync.
    if (this.#lastSeq < before - 1) this.#lastSeq = before - 1;
    this.#drain();
  }
}
