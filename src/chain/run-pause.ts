import { createHash } from 'node:crypto';
import type { LanguageModelV4Message, LanguageModelV4ToolResultPart } from '@ai-sdk/provider';
import type { ModelToolCall } from '../providers/model-stream.ts';
import type { RetrievedChunk } from '../knowledge/search-knowledge.ts';

/** A tool call waiting for a person's approval: what they are shown and bound to. */
export interface PendingApproval {
  toolCallId: string;
  toolName: string;
  toolRef: string | null;
  args: Record<string, unknown>;
  argsHash: string;
}

/** Where `generate` stopped: its prompt so far, the calls not yet run (the first awaits approval) and the results of those that ran. */
export interface GenerateResume {
  continuation: LanguageModelV4Message[];
  round: number;
  toolCalls: number;
  pendingCalls: ModelToolCall[];
  results: LanguageModelV4ToolResultPart[];
}

/**
 * Everything a paused run needs to continue, stored on the run row (`resume_state`, JSON): the
 * step to resume, what earlier steps left, the budget spent, and the paused step's own state.
 */
export interface ResumeState {
  stepIndex: number;
  memories: string[];
  notes: string[];
  chunks: RetrievedChunk[];
  inputTokens: number;
  outputTokens: number;
  modelName?: string;
  budget: { steps: number; toolCalls: number; tokens: number };
  generate?: GenerateResume;
  /** What the run waits for: one of the two. */
  approval?: PendingApproval;
  question?: PendingQuestion;
}

/** A `call_human` question waiting for `addressedTo`'s thread reply. */
export interface PendingQuestion {
  question: string;
  addressedTo: { id: string; handle: string };
}

/** Thrown by a step to pause the run until a person approves a call or answers a question; `generate` carries its own state. */
export class RunPaused extends Error {
  override name = 'RunPaused';
  readonly waitingFor: { approval: PendingApproval } | { question: PendingQuestion };
  readonly generate: GenerateResume | undefined;

  constructor(waitingFor: { approval: PendingApproval } | { question: PendingQuestion }, generate?: GenerateResume) {
    super('approval' in waitingFor ? `waiting for approval of ${waitingFor.approval.toolName}` : 'waiting for an answer');
    this.waitingFor = waitingFor;
    this.generate = generate;
  }
}

/** SHA-256 (hex) of the arguments as canonical JSON (keys sorted at every level): what an approval is bound to. */
export function hashArgs(args: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(args)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([left], [right]) => (left < right ? -1 : 1));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
