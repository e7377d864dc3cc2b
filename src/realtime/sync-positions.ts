import { AppError } from '../errors/app-error.ts';
import type { OutboundEvent } from './outbound-event.ts';

interface Position {
  /** `syncing`: a sync page is being sent; `paused`: the last page had more; `live`: caught up. */
  phase: 'syncing' | 'paused' | 'live';
  /** Highest seq this connection has been given for the conversation through sync or live after a sync. */
  floor: number;
  /** Live events that arrived while a page was being sent. */
  deferred: OutboundEvent[];
}

/**
 * One connection's hand-over between `sync` replies and live events, per conversation it synced
 * (conversations never synced cost nothing). Promise to the client, per conversation, once it has
 * synced: `message` frames arrive in strictly increasing seq order, each once, with no gap —
 *  - while a page is being sent, live events wait and follow the `ack`;
 *  - after an `ack` with `hasMore: true`, live `message` frames are not sent (the next sync has
 *    them) until a sync ends with `hasMore: false`;
 *  - afterwards a live `message` at or below the last seq given is dropped.
 */
export class SyncPositions {
  #positions: Map<string, Position> | undefined;

  /** Whether a live event for `event.conversationId` should be written now (else it was deferred or dropped). */
  admit(event: OutboundEvent): boolean {
    const position = this.#positions?.get(event.conversationId!);
    if (!position) return true;
    if (position.phase === 'syncing') {
      position.deferred.push(event);
      return false;
    }
    if (event.seq === undefined) return true;
    if (position.phase === 'paused' || event.seq <= position.floor) return false;
    position.floor = event.seq;
    return true;
  }

  /** Marks a sync of the conversation as running. Throws conflict when one already is. */
  begin(conversationId: string): void {
    this.#positions ??= new Map();
    const position = this.#positions.get(conversationId);
    if (position?.phase === 'syncing')
      throw new AppError('conflict', 'A sync of this conversation is already running on this connection');
    this.#positions.set(conversationId, { phase: 'syncing', floor: position?.floor ?? 0, deferred: [] });
  }

  /**
   * Ends the running sync whose page ended at `lastSentSeq` (undefined for an empty page); returns
   * the deferred live events to send now (after the ack), already filtered by the rules above.
   */
  finish(conversationId: string, lastSentSeq: number | undefined, hasMore: boolean): OutboundEvent[] {
    const position = this.#positions?.get(conversationId);
    if (!position || position.phase !== 'syncing') return [];
    position.phase = hasMore ? 'paused' : 'live';
    if (lastSentSeq !== undefined) position.floor = lastSentSeq;
    const deferred = position.deferred;
    position.deferred = [];
    return deferred.filter((event) => this.admit(event));
  }

  /** Ends a failed sync as if it had delivered nothing new. */
  abort(conversationId: string): OutboundEvent[] {
    const position = this.#positions?.get(conversationId);
    return position ? this.finish(conversationId, undefined, false) : [];
  }

  /** Drops the conversation's state (the user left it). */
  forget(conversationId: string): void {
    this.#positions?.delete(conversationId);
  }
}
