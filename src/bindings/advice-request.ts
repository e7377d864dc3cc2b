import { getAgentRow } from '../agents/agents.ts';
import type { Principal } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { readMessages } from '../messages/messages.ts';
import type { RunService } from '../runs/run-service.ts';
import { getUser } from '../users/users.ts';
import { adviceOutputKind } from './advice-reply.ts';
import { findOwnBinding, isPaused } from './bindings.ts';
import { bindingPerspective } from './perspective.ts';

/**
 * Asks for advice now (`POST /conversations/:id/advice`): `agentId`'s, else the agent of the
 * principal's advice binding in the conversation (with its instructions), on the conversation's
 * latest message. The suggestion streams privately like any advice; this resolves with the run.
 * Not counted against a daily budget (the person asked). Throws not_found (not a member, an agent
 * of another workspace), invalid_request (no agent given and no advice binding; an empty
 * conversation), conflict (the principal's bindings are paused).
 */
export async function requestAdvice(
  deps: { db: Db; runs: RunService },
  principal: Principal,
  conversationId: string,
  input: { agentId?: string },
): Promise<{ runId: string; agentId: string }> {
  const { db } = deps;
  await requireMembership(db, principal.workspaceId, conversationId, principal.userId);
  const binding = await findOwnBinding(db, principal, conversationId, 'advice');
  const agentId = input.agentId ?? binding?.agentId;
  if (!agentId) throw new AppError('invalid_request', 'Give agentId, or bind an agent in advice mode first');
  const agent = await getAgentRow(db, principal.workspaceId, agentId);
  if (await isPaused(db, principal.userId)) throw new AppError('conflict', 'Your bindings are paused; resume them first');
  const [trigger] = (await readMessages(db, conversationId, { limit: 1 })).items;
  if (!trigger) throw new AppError('invalid_request', 'The conversation has no messages to advise on yet');
  const person = await getUser(db, principal.workspaceId, principal.userId);
  const instructions = binding?.agentId === agent.id ? binding.instructions : '';
  const run = await deps.runs.requestReply({
    agent,
    trigger,
    checkExisting: false,
    perspective: bindingPerspective({ agent, person, mode: 'advice', instructions }),
    output: adviceOutputKind,
    ...(binding?.agentId === agent.id ? { bindingId: binding.id } : {}),
  });
  return { runId: run.id, agentId: agent.id };
}
