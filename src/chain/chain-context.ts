import type { Logger } from 'pino';
import type { AgentRow } from '../agents/agents.ts';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import type { KnowledgeRetrieval, RetrievedChunk } from '../knowledge/search-knowledge.ts';
import type { AgentTool, ToolRefError } from '../mcp/agent-tools.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import type { ModelRegistry } from '../providers/model-registry.ts';
import type { HistoryEntry, ReplyPerspective } from './build-context.ts';
import type { ChainStep } from './chain-schema.ts';
import type { ReplySink } from './reply-sink.ts';
import type { RunBudget } from './run-budget.ts';
import type { ResumeState } from './run-pause.ts';
import type { RunStep } from './run-step.ts';

/** What the chain needs from the app: storage, models, MCP tools and knowledge retrieval. */
export interface ChainDeps {
  db: Db;
  models: ModelRegistry;
  agentsConfig: Config['agents'];
  logger: Logger;
  /** The MCP feature; absent in apps built without it (then agents have no tools). */
  mcp?: {
    resolveAgentTools(workspaceId: string, refs: readonly string[]): Promise<{ tools: AgentTool[]; errors: ToolRefError[] }>;
  };
  /** Knowledge retrieval for the `rag` step (src/knowledge/search-knowledge.ts). */
  retrieval: KnowledgeRetrieval;
}

/** One execution of an agent's chain: for a run, or for a `call_agent` sub-question. */
export interface ChainRun {
  deps: ChainDeps;
  agent: AgentRow;
  workspaceId: string;
  /** The run's id; null for a `call_agent` sub-run (it records into its calling step). */
  runId: string | null;
  /** The message being answered (for a sub-run: the caller's trigger). */
  trigger: PublicMessage;
  /**
   * The user the agent works for (memory owner, approver): the person of a binding's perspective,
   * else the trigger's sender when a person, else onBehalfOf.
   */
  requesterId: string | null;
  history: Promise<HistoryEntry[]>;
  /** The run's recorded steps, appended as they start (sub-runs record into their calling step instead). */
  steps: RunStep[];
  reply: ReplySink;
  /** The person the agent writes for (bindings): their side of the history, their system prompt. */
  perspective?: ReplyPerspective;
  signal: AbortSignal;
  budget: RunBudget;
  /** The agents from the run's agent down to this one (`call_agent` hops). */
  callPath: Array<{ id: string; handle: string }>;
  /** Runs a chain (the engine's `runChain`, passed in so `call_agent` can start a sub-run without an import cycle). */
  execute(run: ChainRun): Promise<ChainOutcome>;
  /** Stores the steps so far; called before a step that takes time. */
  checkpoint(): Promise<void>;
  state: ChainState;
  /** Set when the run resumes after a pause: where to continue and the person's answer. */
  resume?: ResumeState;
  /** The answer to the approval the run paused on (only for that call id and arguments hash). */
  approval?: { toolCallId: string; argsHash: string; decision: 'approve' | 'deny' };
  /** The person's reply to the `call_human` question the run paused on. */
  humanAnswer?: { text: string; userId: string; messageId: string };
}

/** How a chain ended. `error` is readable (shown on the message and the run). */
export interface ChainOutcome {
  status: 'complete' | 'failed' | 'cancelled' | 'interrupted' | 'waiting';
  error: string | null;
  /** When `waiting`: what the run waits for and how to resume it. */
  resume?: ResumeState;
}

/** What steps leave for later steps. */
export interface ChainState {
  /** Facts loaded by memory_load. */
  memories: string[];
  /** Chunks retrieved by rag. */
  chunks: RetrievedChunk[];
  /** Results of earlier steps (tools, other agents, decisions) given to later model calls. */
  notes: string[];
  /** The agent's tools, resolved once per run on first use. */
  tools?: Promise<{ tools: AgentTool[]; errors: ToolRefError[] }>;
  inputTokens: number;
  outputTokens: number;
  /** The model of the last call (for the message's usage). */
  modelName?: string;
}

/** What a step returns: where to go next (a step id, `end`), or the run's end with a reason. */
export type StepResult = { next?: string } | { stop: { status: 'complete' | 'failed'; error: string | null } };

/** A step implementation: reads its definition, fills `record` (input, output, usage), returns where to go. */
export type StepHandler<T extends ChainStep> = (run: ChainRun, step: T, record: RunStep) => Promise<StepResult>;

/** A fresh state. */
export function newChainState(): ChainState {
  return { memories: [], chunks: [], notes: [], inputTokens: 0, outputTokens: 0 };
}

/** Adds a model call's usage to the step, the run state and the budget (then checks the token budget). */
export function recordUsage(
  run: ChainRun,
  record: RunStep,
  usage: { inputTokens: number; outputTokens: number },
  model: string,
): void {
  record.usage = {
    inputTokens: (record.usage?.inputTokens ?? 0) + usage.inputTokens,
    outputTokens: (record.usage?.outputTokens ?? 0) + usage.outputTokens,
  };
  run.state.inputTokens += usage.inputTokens;
  run.state.outputTokens += usage.outputTokens;
  run.state.modelName = model;
  run.budget.addTokens(usage);
}
