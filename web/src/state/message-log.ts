import { applyDeltas, type Message, type MessagePart, type PositionedDelta } from '../client/index.ts';

/** One conversation's loaded messages, ascending by seq, each seq at most once. */
export interface MessageLog {
  items: Message[];
  /** Older history exists before items[0]. */
  hasOlder: boolean;
  /** Deltas of streaming messages that start beyond the content held (a gap), by message id. */
  pendingDeltas?: Readonly<Record<string, readonly PositionedDelta[]>>;
}

/** A log with nothing loaded yet. */
export const emptyLog: MessageLog = { items: [], hasOlder: false };

/**
 * The log with `incoming` merged in by seq; a message already present is replaced (newer state
 * wins), except that a final copy with a lower `updatedSeq` never undoes a later edit, delete or
 * reaction (a page read before the change, merged after it), and a streaming snapshot never
 * undoes a final state nor shortens the text of a streaming copy that deltas already extended —
 * unless its `updatedSeq` is higher: a reply restarted after its worker died was reset to empty.
 * Deltas waiting for a merged message are applied.
 */
export function mergeMessages(log: MessageLog, incoming: Message[]): MessageLog {
  if (incoming.length === 0) return log;
  const bySeq = new Map(log.items.map((message) => [message.seq, message]));
  let pendingDeltas = log.pendingDeltas;
  for (const message of incoming) {
    const existing = bySeq.get(message.seq);
    // A replayed streaming snapshot must not undo a final state we already hold.
    if (existing && existing.status !== 'streaming' && message.status === 'streaming') continue;
    if (existing && existing.status !== 'streaming' && existing.updatedSeq > message.updatedSeq) continue;
    let merged = message;
    if (
      existing?.status === 'streaming' &&
      message.status === 'streaming' &&
      existing.content.length > message.content.length &&
      existing.updatedSeq >= message.updatedSeq
    )
      merged = { ...message, content: existing.content };
    const waiting = pendingDeltas?.[message.id];
    if (waiting) {
      const { [message.id]: _applied, ...others } = pendingDeltas!;
      if (merged.status === 'streaming') {
        const { content, pending } = applyDeltas(merged.content, waiting);
        merged = { ...merged, content };
        pendingDeltas = pending.length > 0 ? { ...others, [message.id]: pending } : others;
      } else pendingDeltas = others;
    }
    bySeq.set(message.seq, merged);
  }
  return { ...log, items: [...bySeq.values()].sort((a, b) => a.seq - b.seq), ...(pendingDeltas ? { pendingDeltas } : {}) };
}

/**
 * Places `delta` at `offset` in a streaming message's content (see `applyDeltas`: what the content
 * already covers is dropped, a delta beyond its end waits in `pendingDeltas`); without `offset`
 * (older servers) it is appended. The log unchanged when the message is not held or not streaming.
 */
export function appendDelta(log: MessageLog, messageId: string, delta: string, offset?: number): MessageLog {
  const index = log.items.findIndex((message) => message.id === messageId);
  const target = log.items[index];
  if (!target || target.status !== 'streaming') return log;
  const items = log.items.slice();
  if (offset === undefined) {
    items[index] = { ...target, content: target.content + delta };
    return { ...log, items };
  }
  const waiting = log.pendingDeltas?.[messageId] ?? [];
  const { content, pending } = applyDeltas(target.content, [...waiting, { offset, delta }]);
  items[index] = { ...target, content };
  const { [messageId]: _previous, ...others } = log.pendingDeltas ?? {};
  return { ...log, items, pendingDeltas: pending.length > 0 ? { ...others, [messageId]: pending } : others };
}

/** True when deltas of `messageId` wait for content the log does not hold yet (load the message again). */
export function hasDeltaGap(log: MessageLog | undefined, messageId: string): boolean {
  return (log?.pendingDeltas?.[messageId]?.length ?? 0) > 0;
}

/** Sets part `index` of a streaming message (a part delta: a tool call starting or ending). */
export function putPart(log: MessageLog, messageId: string, index: number, part: MessagePart): MessageLog {
  const position = log.items.findIndex((message) => message.id === messageId);
  const target = log.items[position];
  if (!target || target.status !== 'streaming') return log;
  const parts = target.parts.slice();
  parts[index] = part;
  const items = log.items.slice();
  items[position] = { ...target, parts };
  return { ...log, items };
}

/**
 * The highest seq up to which the log has no gap, counting from its first item; 0 when empty.
 * Sync resumes after it, so a gap is always filled.
 */
export function contiguousSeq(log: MessageLog): number {
  const first = log.items[0];
  if (!first) return 0;
  let seq = first.seq;
  for (const message of log.items) {
    if (message.seq > seq + 1) break;
    seq = message.seq;
  }
  return seq;
}

/**
 * Where a sync of this log resumes: after the last contiguous seq, but before the first message
 * still `streaming`, so a reply that ended (or changed) while the connection was down is replayed
 * in its current state instead of staying "streaming" forever.
 */
export function resumeSeq(log: MessageLog): number {
  const streaming = log.items.find((message) => message.status === 'streaming');
  return Math.min(contiguousSeq(log), streaming ? streaming.seq - 1 : Number.POSITIVE_INFINITY);
}
