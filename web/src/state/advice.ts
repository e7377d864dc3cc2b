import type { Advice } from '../client/index.ts';

/** Pending advice per conversation id, oldest first (only this user's: the server sends no one else's). */
export type AdviceByConversation = Record<string, Advice[]>;

const handled = new Set<Advice['status']>(['sent', 'dismissed']);

/** `advice` / `advice.done` / `advice.updated`: the advice's new state; sent or dismissed advice leaves. */
export function upsertAdvice(all: AdviceByConversation, advice: Advice): AdviceByConversation {
  const current = all[advice.conversationId] ?? [];
  const others = current.filter((item) => item.id !== advice.id);
  const next = handled.has(advice.status)
    ? others
    : [...others, advice].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return { ...all, [advice.conversationId]: next };
}

/** `advice.delta`: text appended to a suggestion being written. */
export function appendAdviceDelta(
  all: AdviceByConversation,
  conversationId: string,
  adviceId: string,
  delta: string,
): AdviceByConversation {
  const current = all[conversationId];
  if (!current?.some((item) => item.id === adviceId)) return all;
  return {
    ...all,
    [conversationId]: current.map((item) => (item.id === adviceId ? { ...item, content: item.content + delta } : item)),
  };
}
