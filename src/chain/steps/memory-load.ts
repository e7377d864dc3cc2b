import { loadFacts } from '../../memory/memories.ts';
import type { StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';

/**
 * `memory_load`: the facts the agent keeps about the requester go into the context of later model
 * calls. Skipped (recorded with a reason) when the agent has memory off or no person requested the run.
 */
export const memoryLoad: StepHandler<Extract<ChainStep, { type: 'memory_load' }>> = async (run, _step, record) => {
  if (!run.agent.memoryEnabled) {
    record.output = { skipped: 'memory is off for this agent' };
    return {};
  }
  if (!run.requesterId) {
    record.output = { skipped: 'no person requested this run' };
    return {};
  }
  record.input = { userId: run.requesterId };
  const facts = await loadFacts(run.deps.db, { workspaceId: run.workspaceId, agentId: run.agent.id, userId: run.requesterId });
  run.state.memories.push(...facts);
  record.output = { facts: facts.length };
  return {};
};
