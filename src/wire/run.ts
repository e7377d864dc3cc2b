/**
 * The public shapes of an agent run and its action-chain steps (SPEC §6, docs/agents.md "A run"),
 * shared by the server and the web client (web/src/client). Dependency-free: imports nothing
 * outside src/wire. Times are ISO 8601 strings.
 */
import type { MessageUsage } from './message.ts';

/** Where a run is: `waiting` is paused for a person (an approval or a question). */
export type RunStatus = 'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled' | 'interrupted';

/**
 * One step of a run's action chain, as stored on the run and sent in `run.step`. `finishedAt` is
 * null while the step runs. `id` is the declared step's id when it has one; `usage` is the model
 * tokens the step spent (null when it called no model).
 */
export interface RunStep {
  type:
    | 'accept'
    | 'refuse'
    | 'generate'
    | 'decide'
    | 'use_tool'
    | 'call_agent'
    | 'call_human'
    | 'rag'
    | 'memory_load'
    | 'memory_store';
  id?: string;
  input: Record<string, unknown>;
  output: Record<string, unknown> | null;
  usage: { inputTokens: number; outputTokens: number } | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/** A run as the API shows it (`GET /runs/:id`). */
export interface PublicRun {
  id: string;
  conversationId: string;
  agentId: string;
  triggerMessageId: string | null;
  messageId: string | null;
  status: RunStatus;
  steps: RunStep[];
  usage: MessageUsage | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}
