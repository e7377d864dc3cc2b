import { and, eq, sql } from 'drizzle-orm';
import { conversationMembers, users } from '../../db/schema.ts';
import { AppError } from '../../errors/app-error.ts';
import type { StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';
import { RunPaused } from '../run-pause.ts';

/**
 * `call_human`: pauses the run and asks `member` (default: the person who asked the agent) the
 * `question` in the conversation; their thread reply to it resumes the run with the reply as this
 * step's output (and a note for later steps). Fails when the member is not in the conversation or
 * no person asked the run.
 */
export const callHuman: StepHandler<Extract<ChainStep, { type: 'call_human' }>> = async (run, step, record) => {
  if (run.humanAnswer) {
    record.output = { answer: run.humanAnswer.text, answeredBy: run.humanAnswer.userId, messageId: run.humanAnswer.messageId };
    run.state.notes.push(`A person answered "${step.question}": ${run.humanAnswer.text}`);
    return {};
  }
  record.input = { question: step.question, member: step.member ?? null };
  const addressedTo = step.member ? await memberByHandle(run, step.member) : requester(run);
  throw new RunPaused({ question: { question: step.question, addressedTo } });
};

function requester(run: Parameters<StepHandler<ChainStep>>[0]): { id: string; handle: string } {
  const sender = run.trigger.sender;
  if (sender.type !== 'user') throw new AppError('invalid_request', 'call_human: no person asked for this reply');
  return { id: sender.id, handle: sender.handle };
}

async function memberByHandle(
  run: Parameters<StepHandler<ChainStep>>[0],
  handle: string,
): Promise<{ id: string; handle: string }> {
  const [row] = await run.deps.db
    .select({ id: users.id, handle: users.handle })
    .from(users)
    .innerJoin(
      conversationMembers,
      and(eq(conversationMembers.memberId, users.id), eq(conversationMembers.conversationId, run.trigger.conversationId)),
    )
    .where(and(eq(users.workspaceId, run.workspaceId), eq(sql`lower(${users.handle})`, handle.toLowerCase())));
  if (!row) throw new AppError('invalid_request', `call_human: @${handle} is not a member of this conversation`);
  return row;
}
