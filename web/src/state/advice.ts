import { applyDeltas, type Advice, type PositionedDelta } from '../client/index.ts';

/**
 * Advice as held by the client: `pendingDeltas` are `advice.delta`s that start beyond the content
 * held (a gap, after loading a snapshot older than the live deltas), kept until a snapshot covers them.
 */
export type HeldAdvice = Advice & { pendingDeltas?: readonly PositionedDelta[] };

/** Pending advice per conversation id, oldest first (only this user's: the server sends no one else's). */
export type AdviceByConversation = Record<string, HeldAdvice[]>;

const handled = new Set<Advice['status']>(['sent', 'dismissed']);

/**
 * What to hold once `incoming` (a frame or a loaded page) arrives for advice held as `held`. Two
 * streaming states merge like a streaming message (docs/protocol.md, "Streaming replies"): the
 * longer content wins, then the deltas kept aside are placed on it — unless the held one is of a
 * later attempt (newer `updatedAt`: its run restarted, see `startAdvice`), whose text the older
 * one's must not replace. Otherwise the newer state wins (a page loaded while the advice finished
 * is older than the held `advice.done`).
 */
function mergeAdvice(held: HeldAdvice | undefined, incoming: Advice): HeldAdvice {
  if (!held) return incoming;
  if (held.status === 'streaming' && incoming.status === 'streaming') {
    if (held.updatedAt > incoming.updatedAt) return held;
    const content = incoming.content.length >= held.content.length ? incoming.content : held.content;
    return withDeltas({ ...incoming, content }, held.pendingDeltas ?? []);
  }
  return held.updatedAt > incoming.updatedAt ? held : incoming;
}

function withDeltas(advice: Advice, deltas: readonly PositionedDelta[]): HeldAdvice {
  if (deltas.length === 0) return advice;
  const { content, pending } = applyDeltas(advice.content, deltas);
  return pending.length > 0 ? { ...advice, content, pendingDeltas: pending } : { ...advice, content };
}

function put(all: AdviceByConversation, conversationId: string, advice: HeldAdvice): AdviceByConversation {
  const others = (all[conversationId] ?? []).filter((item) => item.id !== advice.id);
  const next = handled.has(advice.status)
    ? others
    : [...others, advice].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return { ...all, [conversationId]: next };
}

/**
 * `advice`: a suggestion starts being written. Held as given, replacing what was held: the same
 * advice comes again (empty, newer `updatedAt`) when its run restarts on another node after its
 * worker died, and the text of the first attempt is dropped with any deltas kept aside.
 */
export function startAdvice(all: AdviceByConversation, advice: Advice): AdviceByConversation {
  return put(all, advice.conversationId, advice);
}

/** `advice.done` / `advice.updated`: the advice's new state; sent or dismissed advice leaves. */
export function upsertAdvice(all: AdviceByConversation, advice: Advice): AdviceByConversation {
  const held = all[advice.conversationId]?.find((item) => item.id === advice.id);
  return put(all, advice.conversationId, mergeAdvice(held, advice));
}

/**
 * A loaded page of a conversation's pending advice (`GET …/advice`) merged with what frames brought:
 * advice that started while the page loaded stays, and each item is merged as `upsertAdvice` does.
 */
export function mergeLoadedAdvice(all: AdviceByConversation, conversationId: string, loaded: Advice[]): AdviceByConversation {
  const held = all[conversationId] ?? [];
  let next: AdviceByConversation = { ...all, [conversationId]: [] };
  for (const item of loaded)
    next = put(
      next,
      conversationId,
      mergeAdvice(
        held.find((mine) => mine.id === item.id),
        item,
      ),
    );
  for (const mine of held) {
    if (mine.status === 'streaming' && !loaded.some((item) => item.id === mine.id)) next = put(next, conversationId, mine);
  }
  return next;
}

/**
 * `advice.delta`: text placed at `offset` in a suggestion being written (what the content already
 * covers is dropped; a delta beyond its end waits in `pendingDeltas`, see `hasAdviceGap`). Without
 * `offset` (an older server) the text is appended.
 */
export function appendAdviceDelta(
  all: AdviceByConversation,
  conversationId: string,
  adviceId: string,
  delta: string,
  offset?: number,
): AdviceByConversation {
  const current = all[conversationId];
  const held = current?.find((item) => item.id === adviceId);
  if (!current || !held) return all;
  const { pendingDeltas = [], ...advice } = held;
  const next =
    offset === undefined ? { ...held, content: held.content + delta } : withDeltas(advice, [...pendingDeltas, { offset, delta }]);
  return { ...all, [conversationId]: current.map((item) => (item.id === adviceId ? next : item)) };
}

/** Whether deltas of this advice wait for content not held yet (load the advice again to fill the gap). */
export function hasAdviceGap(all: AdviceByConversation, conversationId: string, adviceId: string): boolean {
  return (all[conversationId]?.find((item) => item.id === adviceId)?.pendingDeltas?.length ?? 0) > 0;
}
