import type { ChainRun } from '../chain-context.ts';

/**
 * Whose memory a memory step (`memory_load`, `memory_store`) works on: `{ userId }` (the run's
 * requester), or `{ skipped }` with the reason it does nothing (the agent has memory off, or no
 * person requested the run).
 */
export function memoryTarget(run: Pick<ChainRun, 'agent' | 'requesterId'>): { userId: string } | { skipped: string } {
  if (!run.agent.memoryEnabled) return { skipped: 'memory is off for this agent' };
  if (!run.requesterId) return { skipped: 'no person requested this run' };
  return { userId: run.requesterId };
}
