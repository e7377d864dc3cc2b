import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ConversationRow } from '../conversations/conversations.ts';
import { historyAfterAppend, historyFromRows, type HistoryEntry } from '../chain/build-context.ts';
import { runsInOneTrip, type Db, type StatementCall } from '../db/database.ts';
import { agents, conversationMembers, conversations, messages } from '../db/schema.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import type { FollowUpRead, MessagePostedListener } from '../messages/messages.ts';
import type { RunService } from '../runs/run-service.ts';
import type { AgentRowCache } from './agent-row-cache.ts';
import { maxAgentChainDepth, shouldReply } from './reply-policy.ts';

/** How many conversations the trigger remembers the kind and agent members of (`followUpRead`). */
const rememberedConversations = 10_000;

/**
 * Wires the reply policy: every committed message (from `messagePosted`) and every completed
 * agent reply is routed, in posting order per conversation, to the agent members that should
 * answer it; each gets a queued run. Agent rows come from `agentRows` when the posted message
 * names its conversation's agent members (no query on the way to the model). Returns the
 * listener to add to `messagePosted`, and the `followUpRead` to set on the message deps: on
 * embedded PGlite, when a person's top-level message is about to be stored in a conversation
 * seen before in which exactly one agent would answer it (by the kind and agent members the last
 * message there had), the history that agent's reply needs is read in the same round trip as the
 * append (`historyAfterAppend`) and handed to the run if it starts at once.
 */
export function createReplyTrigger(deps: { db: Db; runs: RunService; agentRows: AgentRowCache; logger: Logger }): {
  listener: MessagePostedListener;
  followUpRead: FollowUpRead | undefined;
} {
  /** The kind and agent members each conversation had at its last posted message, oldest first. */
  const conversations = new Map<string, { kind: ConversationRow['kind']; agentMemberIds: string[] }>();
  /** The prefetch planned for a message about to be stored: its agent and the run counter then. */
  const planned = new WeakMap<StatementCall, { agentId: string; runsEnded: number }>();
  const followUpRead: FollowUpRead | undefined = runsInOneTrip(deps.db)
    ? (input) => {
        if (input.sender.type !== 'user' || input.threadRootId || (input.status ?? 'complete') !== 'complete') return undefined;
        const known = conversations.get(input.conversationId);
        const members = known && known.agentMemberIds.length > 0 ? deps.agentRows.get(known.agentMemberIds) : undefined;
        if (!known || !members) return undefined;
        const answering = members.filter((agent) =>
          shouldReply({ conversationKind: known.kind, message: { sender: input.sender, content: input.content }, agent }),
        );
        if (answering.length !== 1) return undefined;
        const read = historyAfterAppend(deps.db, input.conversationId, answering[0].id);
        const plan = { agentId: answering[0].id, runsEnded: deps.runs.runsEnded };
        return (messageId) => {
          const call = read(messageId);
          planned.set(call, plan);
          return call;
        };
      }
    : undefined;
  const remember = (conversationId: string, kind: ConversationRow['kind'], agentMemberIds: string[]) => {
    conversations.delete(conversationId);
    conversations.set(conversationId, { kind, agentMemberIds });
    if (conversations.size > rememberedConversations) conversations.delete(conversations.keys().next().value!);
  };
  const membersOf = async (conversationId: string, agentMemberIds: readonly string[] | undefined) => {
    const cached = agentMemberIds && deps.agentRows.get(agentMemberIds);
    if (cached) return cached;
    const generation = deps.agentRows.generation;
    const rows = await agentMembers(deps.db, conversationId);
    deps.agentRows.store(rows, generation);
    return rows;
  };
  type Target = Pick<ConversationRow, 'id' | 'kind'> & { agentMemberIds?: readonly string[] };
  type Prefetched = { agentId: string; entries: HistoryEntry[]; runsEnded: number };
  const route = (message: PublicMessage, conversation: Target, depth: number, prefetched?: Prefetched) =>
    deps.runs.inConversationOrder(conversation.id, () => routeNow(message, conversation, depth, prefetched));
  const routeNow = async (message: PublicMessage, conversation: Target, depth: number, prefetched?: Prefetched) => {
    if (depth >= maxAgentChainDepth) return;
    const members = await membersOf(conversation.id, conversation.agentMemberIds);
    if (members.length === 0) return;
    const threadRootSender = message.threadRootId ? await senderOf(deps.db, message.threadRootId) : undefined;
    for (const agent of members) {
      if (shouldReply({ conversationKind: conversation.kind, message, agent, threadRootSender })) {
        const history = prefetched?.agentId === agent.id ? prefetched : undefined;
        await deps.runs.requestReplyInOrder({
          agent,
          trigger: message,
          depth,
          checkExisting: false,
          ...(history ? { history } : {}),
        });
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

  const listener: MessagePostedListener = (message, conversation, followUp) => {
    if (followUpRead) remember(conversation.id, conversation.kind, conversation.agentMemberIds);
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
    const plan = followUp && planned.get(followUp.call);
    const prefetched = plan && { ...plan, entries: historyFromRows(followUp.rows, message.seq) };
    route(message, conversation, 0, prefetched).catch(() => undefined); // logged by the ordered task runner
  };
  return { listener, followUpRead };
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
