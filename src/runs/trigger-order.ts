import { and, eq, gt, gte, lt, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { shouldReply } from '../agents/reply-policy.ts';
import type { Executor } from '../db/database.ts';
import { conversationMembers, conversations, messages, runs } from '../db/schema.ts';

/**
 * How long after its commit a person's message may still be on its way to the run queue (ms).
 * Routing a message (reply policy → run row → Redis) takes milliseconds; a node that dies in
 * between never routes it, so waiting is bounded by this.
 */
export const routingWindowMs = 3_000;

/**
 * Whether a reply of `agentId` to an earlier message than `trigger` is still being routed on some
 * node: a person's message of the same conversation with a lower seq, committed within the last
 * `routingWindowMs`, that the reply policy (reply-policy.ts) makes the agent answer, and whose
 * reply run does not exist yet or is still `queued`. In distributed mode two API nodes route the
 * messages they committed concurrently, so the run of a later message can reach the shared queue
 * first; its executor then defers it until the earlier run is queued, which keeps a mailbox in
 * trigger order across the cluster (docs/decisions/0018). A `queued` run counts because its row
 * is inserted before it reaches the shared queue, and a later run that went ahead between the two
 * would overtake it; once it is in the queue the mailbox takes it first (lower `order`), so
 * deferring costs one retry at most. A binding's run (with a perspective) has its own mailbox and
 * does not count. Thread replies to an agent's `call_human` question resume that run instead of
 * getting a reply, and never count.
 */
export async function earlierTriggerInFlight(
  db: Executor,
  input: { conversationId: string; agentId: string; agentHandle: string; triggerSeq: number },
): Promise<boolean> {
  const root = alias(messages, 'root');
  const candidates = await db
    .select({
      content: messages.content,
      senderId: messages.senderId,
      kind: conversations.kind,
      rootSenderType: root.senderType,
      rootSenderId: root.senderId,
    })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .innerJoin(
      conversationMembers,
      and(eq(conversationMembers.conversationId, messages.conversationId), eq(conversationMembers.memberId, input.agentId)),
    )
    .leftJoin(root, eq(root.id, messages.threadRootId))
    .where(
      and(
        eq(messages.conversationId, input.conversationId),
        lt(messages.seq, input.triggerSeq),
        eq(messages.senderType, 'user'),
        eq(messages.status, 'complete'),
        gt(messages.createdAt, sql`now() - make_interval(secs => ${routingWindowMs / 1000})`),
        gte(messages.createdAt, conversationMembers.joinedAt),
        sql`not exists (select 1 from ${runs} where ${runs.conversationId} = ${messages.conversationId}
          and ${runs.triggerMessageId} = ${messages.id} and ${runs.agentId} = ${input.agentId}
          and ${runs.perspectiveUserId} is null and ${runs.status} <> 'queued')`,
        sql`not exists (select 1 from human_requests where human_requests.message_id = ${messages.threadRootId}
          and human_requests.kind = 'question')`,
      ),
    );
  return candidates.some((message) =>
    shouldReply({
      conversationKind: message.kind,
      message: { sender: { type: 'user', id: message.senderId }, content: message.content },
      agent: { id: input.agentId, handle: input.agentHandle },
      threadRootSender: message.rootSenderType ? { type: message.rootSenderType, id: message.rootSenderId! } : undefined,
    }),
  );
}
