/** A `message.delta`'s text and where it starts in the message's content (UTF-16 code units). */
export interface PositionedDelta {
  offset: number;
  delta: string;
}

/**
 * `content` extended by the deltas that continue it (docs/protocol.md, "Streaming replies"): a
 * delta starting at or before the end of `content` adds only the part not held yet, so a delta
 * the loaded content already covers adds nothing; one starting beyond the end cannot be placed
 * yet and is returned in `pending` (a gap: load the message again — its saved content catches up
 * at least every second — and apply `pending` to it).
 */
export function applyDeltas(
  content: string,
  deltas: readonly PositionedDelta[],
): { content: string; pending: PositionedDelta[] } {
  const pending: PositionedDelta[] = [];
  let text = content;
  for (const { offset, delta } of [...deltas].sort((a, b) => a.offset - b.offset)) {
    if (offset <= text.length) text += delta.slice(text.length - offset);
    else pending.push({ offset, delta });
  }
  return { content: text, pending };
}
