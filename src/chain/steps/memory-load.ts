import { loadFacts } from '../../memory/memories.ts';
import type { StepHandler } from '../chain-context.ts';
import { memoryTarget } from './memory-gate.ts';
import type { ChainStep } from '../chain-schema.ts';

/**
 * `memory_load`: the facts the agent keeps about the requester go into the context of later model
 * calls. Skipped (recorded with a reason) when the agent has memory off or no person requested the run.
 */
export const memoryLoad: StepHandler<Extract<ChainStep, { type: 'memory_load' }>> = async (run, _step, record) => {
  const target = memoryTarget(run);
  if ('skipped' in target) {
    record.output = target;
    return {};
  }
  record.input = { userId: target.userId };
  const facts = await loadFacts(run.deps.db, { workspaceId: run.workspaceId, agentId: run.agent.id, userId: target.userId });
  run.state.memories.push(...facts);
  record.output = { facts: facts.length };
  return {};
};
