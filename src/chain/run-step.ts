/**
 * One step of a run's action chain (SPEC §6), as stored on the run and sent in `run.step`.
 * `finishedAt` is null while the step runs. Times are ISO 8601. `id` is the declared step's id
 * when it has one; `usage` is the model tokens the step spent (null when it called no model).
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

/** Abort reason for an explicit cancel (WebSocket `cancel`, POST /runs/:id/cancel). */
export class RunCancelled extends Error {
  override name = 'RunCancelled';
}

/** Abort reason when this process stops mid-run; the reply ends `interrupted`. */
export class ServerStopping extends Error {
  override name = 'ServerStopping';
}
