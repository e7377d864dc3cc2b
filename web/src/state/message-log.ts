import type { Message } from '../client/index.ts';

/** One conversation's loaded messages, ascending by seq, each seq at most once. */
export interface MessageLog {
  items: Message[];
  /** Older history exists before items[0]. */
  hasOlder: boolean;
}

/** A log with nothing loaded yet. */
export const emptyLog: MessageLog = { items: [], hasOlder: false };

/** The log with `incoming` merged in by seq; a message already present is replaced (newer state wins). */
export function mergeMessages(log: MessageLog, incoming: Message[]): MessageLog {
  if (incoming.length === 0) return log;
  const bySeq = new Map(log.items.map((message) => [message.seq, message]));
  for (const message of incoming) {
    const existing = bySeq.get(message.seq);
    // A replayed streaming snapshot must not undo a final state we already hold.
    if (existing && existing.status !== 'streaming' && message.status === 'streaming') continue;
    bySeq.set(message.seq, message);
  }
  return { ...log, items: [...bySeq.values()].sort((a, b) => a.seq - b.seq) };
}

/** Appends `delta` to a streaming message's content; the log unchanged when it is not held or not streaming. */
export function appendDelta(log: MessageLog, messageId: string, delta: string): MessageLog {
  const index = log.items.findIndex((message) => message.id === messageId);
  const target = log.items[index];
  if (!target || target.status !== 'streaming') return log;
  const items = log.items.slice();
  items[index] = { ...target, content: target.content + delta };
  return { ...log, items };
}

/** Sets part `index` of a streaming message (a part delta: a tool call starting or ending). */
export function putPart(log: MessageLog, messageId: string, index: number, part: unknown): MessageLog {
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
