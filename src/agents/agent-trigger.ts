import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ConversationRow } from '../conversations/conversations.ts';
import type { Db } from '../db/database.ts';
import { agents, conversationMembers, conversations, messages } from '../db/schema.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import type { MessagePostedListener } from '../messages/messages.ts';
import type { RunService } from '../runs/run-service.ts';
import type { AgentRowCache } from './agent-row-cache.ts';
import { maxAgentChainDepth, shouldReply } from './reply-policy.ts';

/**
 * Wires the reply policy: every committed message (from `messagePosted`) and every completed
 * agent reply is routed, in posting order per conversation, to the agent members that should
 * answer it; each gets a queued run. Agent rows come from `agentRows` when the posted message
 * names its conversation's agent members (no query on the way to the model). Returns the
 * listener to add to `messagePosted`.
 */
export function createReplyTrigger(deps: {
  db: Db;
  runs: RunService;
  agentRows: AgentRowCache;
  logger: Logger;
}): MessagePostedListener {
  const membersOf = async (conversationId: string, agentMemberIds: readonly string[] | undefined) => {
    const cached = agentMemberIds && deps.agentRows.get(agentMemberIds);
    if (cached) return cached;
    const generation = deps.agentRows.generation;
    const rows = await agentMembers(deps.db, conversationId);
    deps.agentRows.store(rows, generation);
    return rows;
  };
  type Target = Pick<ConversationRow, 'id' | 'kind'> & { agentMemberIds?: readonly string[] };
  const route = (message: PublicMessage, conversation: Target, depth: number) =>
    deps.runs.inConversationOrder(conversation.id, () => routeNow(message, conversation, depth));
  const routeNow = async (message: PublicMessage, conversation: Target, depth: number) => {
    if (depth >= maxAgentChainDepth) return;
    const members = await membersOf(conversation.id, conversation.agentMemberIds);
    if (members.length === 0) return;
    const threadRootSender = message.threadRootId ? await senderOf(deps.db, message.threadRootId) : undefined;
    for (const agent of members) {
      if (shouldReply({ conversationKind: conversation.kind, message, agent, threadRootSender })) {
        await deps.runs.requestReplyInOrder({ agent, trigger: message, depth, checkExisting: false });
      }
    }
  };

  deps.runs.onReplyCompleted = (message, depth) => {
    // An agent's message makes another agent answer only by mentioning it (reply-policy.ts).
    if (!message.content.includes('@')) return;
    conversationKind(deps.db, message.conversationId)
      .then((kind) => (kind ? route(message, { id: message.conversationId, kind }, depth) : undefined))
      .catch((error: unknown) => deps.logger.error({ err: error }, 'routing an agent reply failed'));
  };

  return (message, conversation) => {
    // An agent's message is routed when it completes (its content is empty while streaming).
    if (message.status !== 'complete' || message.sender.type === 'agent') return;
    if (conversation.agentMemberIds.length === 0) return;
    if (message.threadRootId) {
      // A thread reply may answer an agent's `call_human` question: then it resumes that run instead.
      deps.runs
        .inConversationOrder(conversation.id, async () => {
          if (!(await deps.runs.resumeWithReply(message))) await routeNow(message, conversation, 0);
        })
        .catch(() => undefined); // logged by the ordered task runner
      return;
    }
    route(message, conversation, 0).catch(() => undefined); // logged by the ordered task runner
  };
}

async function agentMembers(db: Db, conversationId: string) {
  const rows = await db
    .select({ agent: agents })
    .from(conversationMembers)
    .innerJoin(agents, eq(agents.id, conversationMembers.memberId))
    .where(and(eq(conversationMembers.conversationId, conversationId), eq(conversationMembers.memberType, 'agent')));
  return rows.map((row) => row.agent);
}

async function senderOf(db: Db, messageId: string): Promise<{ type: 'user' | 'agent'; id: string } | undefined> {
  const [row] = await db
    .select({ type: messages.senderType, id: messages.senderId })
    .from(messages)
    .where(eq(messages.id, messageId));
  return row;
}

async function conversationKind(db: Db, conversationId: string): Promise<'direct' | 'group' | undefined> {
  const [row] = await db.select({ kind: conversations.kind }).from(conversations).where(eq(conversations.id, conversationId));
  return row?.kind;
}
