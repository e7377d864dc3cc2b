import { findAgentByHandle } from '../../agents/agents.ts';
import { AppError } from '../../errors/app-error.ts';
import { newChainState, type StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';
import { CollectingSink } from '../reply-sink.ts';
import type { RunStep } from '../run-step.ts';

/** Agent-to-agent hops a run may make through `call_agent` (SPEC: hop limit 3). */
export const maxCallHops = 3;

/**
 * `call_agent`: another agent of the workspace answers a sub-question (default: the message being
 * answered) by running its own chain, headless: its answer becomes this step's output and a note for
 * later steps; its steps are recorded inside this step's output. It shares the run's budget and
 * signal. Fails the step (and the run) past 3 hops, on a cycle (an agent already in the call path),
 * for an unknown handle, or when the called agent fails.
 */
export const callAgent: StepHandler<Extract<ChainStep, { type: 'call_agent' }>> = async (run, step, record) => {
  const question = step.question ?? run.trigger.content;
  record.input = { agent: step.agent, question };
  const target = await findAgentByHandle(run.deps.db, run.workspaceId, step.agent);
  if (!target) throw new AppError('invalid_request', `call_agent: no agent @${step.agent} in this workspace`);
  const path = [...run.callPath, { id: target.id, handle: target.handle }];
  const shown = path.map((hop) => `@${hop.handle}`).join(' → ');
  if (run.callPath.some((hop) => hop.id === target.id)) throw new AppError('invalid_request', `call_agent: cycle (${shown})`);
  if (path.length - 1 > maxCallHops)
    throw new AppError('invalid_request', `call_agent: more than ${maxCallHops} hops (${shown})`);
  await run.checkpoint();
  const steps: RunStep[] = [];
  const sink = new CollectingSink();
  const outcome = await run.execute({
    ...run,
    agent: target,
    runId: null,
    history: Promise.resolve([{ senderType: 'user', senderId: run.agent.id, senderHandle: run.agent.handle, content: question }]),
    steps,
    reply: sink,
    perspective: undefined,
    callPath: path,
    state: newChainState(),
  });
  record.output = { agent: target.handle, answer: sink.text, status: outcome.status, steps };
  if (outcome.status === 'cancelled' || outcome.status === 'interrupted') throw run.signal.reason;
  if (outcome.status === 'failed') throw new AppError('provider_error', `@${target.handle} could not answer: ${outcome.error}`);
  run.state.notes.push(`@${target.handle} answered "${question}": ${sink.text}`);
  return { next: step.next };
};
