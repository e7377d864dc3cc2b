import { and, eq } from 'drizzle-orm';
import type { Principal } from '../auth/auth-service.ts';
import { findAgentByHandle, getAgentRow, type AgentRow } from '../agents/agents.ts';
import { createConversation, requireMembership } from '../conversations/conversations.ts';
import { conversationMembers } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { AppContext } from '../http/context.ts';
import { postMessage } from '../messages/messages.ts';
import { conversationTopic, type BusEvent } from '../bus/event-bus.ts';
import type { RunService } from './run-service.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A one-shot exchange: the person's message, then the agent's reply events until `message.done`. */
export interface ChatStream {
  events: AsyncIterable<BusEvent>;
  /** Stops following (the run itself goes on). Idempotent. */
  close(): void;
}

/**
 * `POST /chat/stream` (SPEC §4): posts `content` from the principal to `agent` (a handle or id)
 * in `conversationId`, or in their direct conversation with the agent (created when missing),
 * and follows the reply. Yields `message` (the person's), then the reply's `message`,
 * `message.delta`*, `run.step`*, and ends after its `message.done`. The agent answers even where
 * its policy would not (the caller asked it explicitly). Throws not_found (agent, conversation),
 * invalid_request (agent not a member of the conversation).
 */
export async function startChatStream(
  context: AppContext,
  runs: RunService,
  principal: Principal,
  input: { agent: string; content: string; conversationId?: string },
): Promise<ChatStream> {
  const agent = await resolveAgent(context, principal, input.agent);
  const conversationId = input.conversationId
    ? await checkConversation(context, principal, input.conversationId, agent)
    : (await createConversation(context, principal, { kind: 'direct', members: [{ type: 'agent', id: agent.id }] })).conversation
        .id;

  const queue: BusEvent[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const unsubscribe = context.bus.subscribe(conversationTopic(conversationId), (event) => {
    queue.push(event);
    wake?.();
  });
  const close = () => {
    closed = true;
    unsubscribe();
    wake?.();
  };
  let runId: string;
  let sent: BusEvent;
  try {
    const { message } = await postMessage(context, principal, conversationId, { content: input.content });
    sent = { type: 'message', message };
    runId = (await runs.requestReply({ agent, trigger: message })).id;
  } catch (error) {
    close();
    throw error;
  }

  async function* follow(): AsyncGenerator<BusEvent> {
    try {
      yield sent;
      let replyId: string | undefined;
      while (!closed) {
        const event = queue.shift();
        if (!event) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        const message = event.message as { id?: string; runId?: string } | undefined;
        if (event.type === 'message' && message?.runId === runId) replyId = message.id;
        const isReply =
          (event.type === 'message' && message?.runId === runId) ||
          (event.type === 'message.delta' && replyId !== undefined && event.messageId === replyId) ||
          (event.type === 'run.step' && event.runId === runId) ||
          (event.type === 'message.done' && message?.runId === runId);
        if (!isReply) continue;
        yield event;
        if (event.type === 'message.done') return;
      }
    } finally {
      close();
    }
  }
  return { events: follow(), close };
}

async function resolveAgent(context: AppContext, principal: Principal, reference: string): Promise<AgentRow> {
  if (uuidPattern.test(reference)) return getAgentRow(context.db, principal.workspaceId, reference);
  const agent = await findAgentByHandle(context.db, principal.workspaceId, reference.replace(/^@/, ''));
  if (!agent) throw new AppError('not_found', 'Agent not found');
  return agent;
}

async function checkConversation(
  context: AppContext,
  principal: Principal,
  conversationId: string,
  agent: AgentRow,
): Promise<string> {
  await requireMembership(context.db, principal.workspaceId, conversationId, principal.userId);
  const [member] = await context.db
    .select({ id: conversationMembers.memberId })
    .from(conversationMembers)
    .where(and(eq(conversationMembers.conversationId, conversationId), eq(conversationMembers.memberId, agent.id)));
  if (!member) throw new AppError('invalid_request', `@${agent.handle} is not a member of this conversation`);
  return conversationId;
}
