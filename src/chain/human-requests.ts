import { and, eq, gt, inArray, lte } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import { conversationTopic } from '../bus/event-bus.ts';
import type { Db } from '../db/database.ts';
import { messages } from '../db/schema.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import type { HumanRequestPart, MessagePart } from '../messages/message-shape.ts';
import { toPublicMessage } from '../messages/message-shape.ts';
import { appendMessage, type MessageDeps } from '../messages/messages.ts';
import { publishUpdated, stampChange } from '../messaging/message-changes.ts';
import type { PendingApproval, PendingQuestion } from './run-pause.ts';
import { humanRequests, type HumanRequestStatus } from './schema.ts';

type HumanRequestRow = typeof humanRequests.$inferSelect;

/**
 * Opens a request for a paused run: stores it (`pending`, expiring after `ttlMs`), posts it into the
 * conversation as the agent's message addressed to the person (content names them; a
 * `human-request` part carries what clients need: Approve / Deny, or "reply in thread"), and
 * publishes `human.request {conversationId, runId, messageId, request}`. Returns the part.
 */
export async function openHumanRequest(
  deps: MessageDeps,
  input: {
    workspaceId: string;
    conversationId: string;
    runId: string;
    agent: { id: string; handle: string };
    addressedTo: { id: string; handle: string };
    threadRootId: string | null;
    waitingFor: { approval: PendingApproval } | { question: PendingQuestion };
    ttlMs: number;
  },
): Promise<HumanRequestPart> {
  const id = uuidv7();
  const expiresAt = new Date(Date.now() + input.ttlMs);
  const approval = 'approval' in input.waitingFor ? input.waitingFor.approval : undefined;
  const question = 'question' in input.waitingFor ? input.waitingFor.question.question : undefined;
  const fields = approval
    ? {
        toolCallId: approval.toolCallId,
        toolName: approval.toolName,
        toolRef: approval.toolRef,
        args: approval.args,
        argsHash: approval.argsHash,
      }
    : { question };
  await deps.db.insert(humanRequests).values({
    id,
    workspaceId: input.workspaceId,
    runId: input.runId,
    conversationId: input.conversationId,
    agentId: input.agent.id,
    kind: approval ? 'approval' : 'question',
    addressedTo: input.addressedTo.id,
    ...fields,
    expiresAt,
  });
  const part: HumanRequestPart = {
    type: 'human-request',
    requestId: id,
    runId: input.runId,
    kind: approval ? 'approval' : 'question',
    addressedTo: input.addressedTo.id,
    ...(approval
      ? { toolName: approval.toolName, toolRef: approval.toolRef, args: approval.args, argsHash: approval.argsHash }
      : { question }),
    status: 'pending',
    expiresAt: expiresAt.toISOString(),
  };
  const content = approval
    ? `@${input.addressedTo.handle}, may I call ${approval.toolName} with ${JSON.stringify(approval.args)}?`
    : `@${input.addressedTo.handle}, ${question}`;
  const { message } = await appendMessage(deps, {
    workspaceId: input.workspaceId,
    conversationId: input.conversationId,
    sender: { type: 'agent', id: input.agent.id, handle: input.agent.handle },
    content,
    threadRootId: input.threadRootId ?? undefined,
    parts: [part],
  });
  await deps.db.update(humanRequests).set({ messageId: message.id }).where(eq(humanRequests.id, id));
  await deps.bus.publish(conversationTopic(input.conversationId), {
    type: 'human.request',
    conversationId: input.conversationId,
    runId: input.runId,
    messageId: message.id,
    request: part,
  });
  return part;
}

/**
 * When `message` is a person's thread reply to a pending `call_human` question addressed to them,
 * records it as the answer (once) and returns the request; undefined otherwise (the message is then
 * an ordinary one). A reply to a question that has expired is an ordinary message too.
 */
export async function answerQuestionByReply(
  deps: MessageDeps,
  message: { id: string; threadRootId: string | null; sender: { type: string; id: string }; content: string },
): Promise<HumanRequestRow | undefined> {
  if (!message.threadRootId || message.sender.type !== 'user') return undefined;
  const [updated] = await deps.db
    .update(humanRequests)
    .set({ status: 'answered', answer: message.content, answeredBy: message.sender.id, answeredAt: new Date() })
    .where(
      and(
        eq(humanRequests.messageId, message.threadRootId),
        eq(humanRequests.kind, 'question'),
        eq(humanRequests.status, 'pending'),
        eq(humanRequests.addressedTo, message.sender.id),
        gt(humanRequests.expiresAt, new Date()),
      ),
    )
    .returning();
  if (updated) await updateRequestMessage(deps, updated, 'answered');
  return updated;
}

/**
 * Records a person's answer to an approval request of run `runId`, once. Throws not_found (no such
 * request, or the principal cannot see the run's conversation — checked by the caller), forbidden
 * (not the addressed member), conflict (already answered, expired, or `argsHash` given and not the
 * hash of the arguments shown: changed arguments need a new approval). Returns the request as answered.
 */
export async function answerApproval(
  deps: MessageDeps,
  principal: Principal,
  runId: string,
  requestId: string,
  answer: { decision: 'approve' | 'deny'; argsHash?: string },
): Promise<HumanRequestRow> {
  const [row] = await deps.db
    .select()
    .from(humanRequests)
    .where(
      and(eq(humanRequests.id, requestId), eq(humanRequests.runId, runId), eq(humanRequests.workspaceId, principal.workspaceId)),
    );
  if (!row || row.kind !== 'approval') throw notFound('Approval request');
  if (row.addressedTo !== principal.userId) throw new AppError('forbidden', 'This approval is addressed to another member');
  if (answer.argsHash !== undefined && answer.argsHash !== row.argsHash)
    throw new AppError('conflict', 'The arguments changed since this approval was shown; a new approval is needed');
  if (row.status === 'pending' && row.expiresAt.getTime() <= Date.now()) {
    await settleRequest(deps, row, 'expired');
    throw new AppError('conflict', 'This approval request expired');
  }
  const status: HumanRequestStatus = answer.decision === 'approve' ? 'approved' : 'denied';
  const [updated] = await deps.db
    .update(humanRequests)
    .set({ status, answeredBy: principal.userId, answeredAt: new Date() })
    .where(and(eq(humanRequests.id, row.id), eq(humanRequests.status, 'pending')))
    .returning();
  if (!updated) throw new AppError('conflict', `This approval request is already ${row.status}`);
  await updateRequestMessage(deps, updated, status);
  return updated;
}

/**
 * Ends a pending request without an answer (`expired` or `cancelled`) and updates its message.
 * Returns false when it was no longer pending.
 */
export async function settleRequest(deps: MessageDeps, row: HumanRequestRow, status: 'expired' | 'cancelled'): Promise<boolean> {
  const [updated] = await deps.db
    .update(humanRequests)
    .set({ status })
    .where(and(eq(humanRequests.id, row.id), eq(humanRequests.status, 'pending')))
    .returning();
  if (!updated) return false;
  await updateRequestMessage(deps, updated, status);
  return true;
}

/** Pending requests whose time ran out (any workspace), oldest first. */
export async function findExpiredRequests(db: Db): Promise<HumanRequestRow[]> {
  return db
    .select()
    .from(humanRequests)
    .where(and(eq(humanRequests.status, 'pending'), lte(humanRequests.expiresAt, new Date())))
    .orderBy(humanRequests.expiresAt);
}

/** The pending requests of runs `runIds`. */
export async function findPendingRequests(db: Db, runIds: string[]): Promise<HumanRequestRow[]> {
  if (runIds.length === 0) return [];
  return db
    .select()
    .from(humanRequests)
    .where(and(inArray(humanRequests.runId, runIds), eq(humanRequests.status, 'pending')));
}

/** Sets the request part's status on its message (a `message.updated` for every viewer). */
async function updateRequestMessage(deps: MessageDeps, row: HumanRequestRow, status: HumanRequestStatus): Promise<void> {
  if (!row.messageId) return;
  const changed = await deps.db.transaction(async (tx) => {
    const [message] = await tx.select().from(messages).where(eq(messages.id, row.messageId!)).for('update');
    if (!message) return undefined;
    const parts = (message.parts as MessagePart[]).map((part) =>
      part.type === 'human-request' && part.requestId === row.id ? { ...part, status } : part,
    );
    return stampChange(tx, message, { parts });
  });
  if (changed) await publishUpdated(deps.bus, toPublicMessage(changed));
}
