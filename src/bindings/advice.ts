import { and, asc, eq, inArray, notInArray } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import { userTopic, type EventBus } from '../bus/event-bus.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Executor } from '../db/database.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import type { MessageUsage, PublicMessage } from '../messages/message-shape.ts';
import { postMessage, type MessageDeps } from '../messages/messages.ts';
import type { AdviceStatus, PublicAdvice } from '../wire/binding.ts';
import { advice } from './schema.ts';

type AdviceRow = typeof advice.$inferSelect;

/** Advice that still waits for its owner (shown under the composer). */
const handledStatuses: AdviceStatus[] = ['sent', 'dismissed'];

export function toPublicAdvice(row: AdviceRow): PublicAdvice {
  return {
    id: row.id,
    conversationId: row.conversationId,
    userId: row.userId,
    agentId: row.agentId,
    bindingId: row.bindingId,
    runId: row.runId,
    triggerMessageId: row.triggerMessageId,
    kind: row.kind,
    content: row.content,
    status: row.status,
    error: row.error,
    usage: (row.usage as MessageUsage | null) ?? null,
    sentMessageId: row.sentMessageId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Publishes an advice frame on its owner's `user:` topic only: `advice` (new), `advice.done`
 * (finished writing) or `advice.updated` (sent, dismissed), each `{conversationId, advice}`.
 */
export async function publishAdvice(
  bus: EventBus,
  type: 'advice' | 'advice.done' | 'advice.updated',
  item: PublicAdvice,
): Promise<void> {
  await bus.publish(userTopic(item.userId), { type, conversationId: item.conversationId, advice: item });
}

/** The new advice row, stored and announced (`advice`) to its owner. */
export async function insertAdvice(
  deps: { db: Executor; bus: EventBus },
  input: Omit<typeof advice.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>,
): Promise<PublicAdvice> {
  const [row] = await deps.db
    .insert(advice)
    .values({ id: uuidv7(), ...input })
    .returning();
  const item = toPublicAdvice(row);
  await publishAdvice(deps.bus, 'advice', item);
  return item;
}

/** The principal's advice still waiting in a conversation they belong to, oldest first. Throws not_found. */
export async function listPendingAdvice(db: Executor, principal: Principal, conversationId: string): Promise<PublicAdvice[]> {
  await requireMembership(db, principal.workspaceId, conversationId, principal.userId);
  const rows = await db
    .select()
    .from(advice)
    .where(
      and(
        eq(advice.userId, principal.userId),
        eq(advice.conversationId, conversationId),
        eq(advice.workspaceId, principal.workspaceId),
        notInArray(advice.status, handledStatuses),
      ),
    )
    .orderBy(asc(advice.createdAt));
  return rows.map(toPublicAdvice);
}

async function getOwnAdvice(db: Executor, principal: Principal, conversationId: string, adviceId: string): Promise<AdviceRow> {
  const [row] = await db
    .select()
    .from(advice)
    .where(
      and(
        eq(advice.id, adviceId),
        eq(advice.userId, principal.userId),
        eq(advice.conversationId, conversationId),
        eq(advice.workspaceId, principal.workspaceId),
      ),
    );
  if (!row) throw notFound('Advice');
  return row;
}

/**
 * Posts a suggestion as the principal's own message (`content` replaces the suggested text when
 * given) and marks it `sent`. The message's `clientMsgId` is `advice:<id>`, so a repeated send
 * never posts twice. Throws not_found (someone else's advice), conflict (already sent or dismissed,
 * still streaming), invalid_request (a notice, nothing to send), and what `postMessage` throws.
 */
export async function sendAdvice(
  deps: MessageDeps,
  principal: Principal,
  conversationId: string,
  adviceId: string,
  content: string | undefined,
): Promise<{ advice: PublicAdvice; message: PublicMessage }> {
  const row = await getOwnAdvice(deps.db, principal, conversationId, adviceId);
  if (row.kind !== 'suggestion') throw new AppError('invalid_request', 'A notice cannot be sent; dismiss it');
  if (handledStatuses.includes(row.status)) throw new AppError('conflict', `This advice was already ${row.status}`);
  if (row.status === 'streaming') throw new AppError('conflict', 'This advice is still being written');
  const text = content ?? row.content;
  if (text.trim() === '') throw new AppError('invalid_request', 'Nothing to send: the advice is empty');
  const { message } = await postMessage(deps, principal, conversationId, { content: text, clientMsgId: `advice:${row.id}` });
  const [updated] = await deps.db
    .update(advice)
    .set({ status: 'sent', content: text, sentMessageId: message.id, updatedAt: new Date() })
    .where(and(eq(advice.id, row.id), notInArray(advice.status, handledStatuses)))
    .returning();
  const item = toPublicAdvice(updated ?? (await getOwnAdvice(deps.db, principal, conversationId, adviceId)));
  if (updated) await publishAdvice(deps.bus, 'advice.updated', item);
  return { advice: item, message };
}

/**
 * Dismisses the principal's advice. A suggestion still streaming is dismissed at once and its run
 * cancelled through `cancelRun` (its partial text is kept on the row). Idempotent for dismissed
 * advice. Throws not_found, conflict (sent).
 */
export async function dismissAdvice(
  deps: { db: Executor; bus: EventBus; cancelRun(principal: Principal, runId: string): Promise<void> },
  principal: Principal,
  conversationId: string,
  adviceId: string,
): Promise<PublicAdvice> {
  const row = await getOwnAdvice(deps.db, principal, conversationId, adviceId);
  if (row.status === 'sent') throw new AppError('conflict', 'This advice was already sent');
  if (row.status === 'dismissed') return toPublicAdvice(row);
  const [updated] = await deps.db
    .update(advice)
    .set({ status: 'dismissed', updatedAt: new Date() })
    .where(and(eq(advice.id, row.id), notInArray(advice.status, handledStatuses)))
    .returning();
  const item = toPublicAdvice(updated ?? (await getOwnAdvice(deps.db, principal, conversationId, adviceId)));
  if (updated) await publishAdvice(deps.bus, 'advice.updated', item);
  if (row.status === 'streaming' && row.runId) await deps.cancelRun(principal, row.runId).catch(() => undefined);
  return item;
}

/**
 * Sets a suggestion's final state once (only while `streaming`, so a dismissal in between keeps
 * its status but still gets the text). Returns the stored advice.
 */
export async function finishAdvice(
  db: Executor,
  adviceId: string,
  final: { content: string; status: AdviceStatus; error: string | null; usage: MessageUsage | null },
): Promise<PublicAdvice | undefined> {
  const now = new Date();
  const [row] = await db
    .update(advice)
    .set({ ...final, usage: final.usage as Record<string, unknown> | null, updatedAt: now })
    .where(and(eq(advice.id, adviceId), eq(advice.status, 'streaming')))
    .returning();
  if (row) return toPublicAdvice(row);
  const [kept] = await db
    .update(advice)
    .set({ content: final.content, error: final.error, usage: final.usage as Record<string, unknown> | null, updatedAt: now })
    .where(eq(advice.id, adviceId))
    .returning();
  return kept ? toPublicAdvice(kept) : undefined;
}

/** The suggestion an advice run writes (by run id), if it was opened. */
export async function findRunAdvice(db: Executor, runId: string): Promise<PublicAdvice | undefined> {
  const [row] = await db.select().from(advice).where(eq(advice.runId, runId)).limit(1);
  return row ? toPublicAdvice(row) : undefined;
}

/**
 * Empties a suggestion whose run restarts (its node died mid-run) and moves its `updatedAt` on, so
 * a client holding the older text replaces it rather than keeping the longer one. Returns it.
 */
export async function resetAdvice(db: Executor, adviceId: string): Promise<PublicAdvice | undefined> {
  const [row] = await db.update(advice).set({ content: '', updatedAt: new Date() }).where(eq(advice.id, adviceId)).returning();
  return row ? toPublicAdvice(row) : undefined;
}

/** Saves a streaming suggestion's text so far. */
export async function saveAdviceContent(db: Executor, adviceId: string, content: string): Promise<void> {
  await db.update(advice).set({ content }).where(eq(advice.id, adviceId));
}

/** Start-up recovery (one-node modes): suggestions left `streaming` become `interrupted`. Returns them. */
export async function markAbandonedAdviceInterrupted(db: Executor): Promise<PublicAdvice[]> {
  const rows = await db
    .update(advice)
    .set({ status: 'interrupted', error: 'The server stopped while this advice was being written', updatedAt: new Date() })
    .where(inArray(advice.status, ['streaming']))
    .returning();
  return rows.map(toPublicAdvice);
}
