import { AppError } from '../errors/app-error.ts';
import type { ChainOutcome, ChainRun, StepHandler, StepResult } from './chain-context.ts';
import { defaultChain, indexStepIds, type Chain, type ChainStep, type ChainStepType } from './chain-schema.ts';
import { BudgetExceeded } from './run-budget.ts';
import { RunPaused, type ResumeState } from './run-pause.ts';
import { ServerStopping, type RunStep } from './run-step.ts';
import { callAgent } from './steps/call-agent.ts';
import { decide } from './steps/decide.ts';
import { callHuman } from './steps/call-human.ts';
import { acceptGate, refuseGate } from './steps/gate.ts';
import { generate } from './steps/generate.ts';
import { memoryLoad } from './steps/memory-load.ts';
import { memoryStore } from './steps/memory-store.ts';
import { rag } from './steps/rag.ts';
import { useTool } from './steps/use-tool.ts';

const handlers: { [T in ChainStepType]: StepHandler<Extract<ChainStep, { type: T }>> } = {
  accept: acceptGate,
  refuse: refuseGate,
  generate,
  decide,
  use_tool: useTool,
  call_agent: callAgent,
  call_human: callHuman,
  rag,
  memory_load: memoryLoad,
  memory_store: memoryStore,
};

/** The chain an agent runs: its declared `actionChain` (validated when saved) or the default. */
export function chainOf(agent: { actionChain: unknown }): Chain {
  return (agent.actionChain as Chain | null) ?? defaultChain;
}

/**
 * Runs the agent's chain from its first step: each step is recorded in `run.steps` as it starts
 * (`run.step` frame with `finishedAt: null`) and when it ends (output, usage, error); the next step
 * is the step's `next`, a `decide` option's target, or the following one; `end` or the last step
 * finishes. Every step counts against the run's budget. Never throws: an abort (cancel, shutdown)
 * ends `cancelled` / `interrupted`, a budget or a step failure ends `failed` with a readable error.
 * A step that needs a person's approval ends it `waiting` with the state to resume from (the
 * paused step stays unfinished); `run.resume` continues there, in that step's record.
 */
export async function runChain(run: ChainRun): Promise<ChainOutcome> {
  const chain = chainOf(run.agent);
  const indexById = indexStepIds(chain);
  let index = run.resume ? restore(run, run.resume) : 0;
  while (index < chain.steps.length) {
    const step = chain.steps[index]!;
    const resuming = run.resume !== undefined && run.steps.at(-1)?.finishedAt === null;
    const record = resuming ? run.steps.at(-1)! : startRecord(run, step);
    let result: StepResult;
    try {
      if (run.signal.aborted) throw run.signal.reason;
      if (resuming) run.reply.publishStep(record);
      else run.budget.spendStep();
      result = await (handlers[step.type] as StepHandler<ChainStep>)(run, step, record);
    } catch (error) {
      if (error instanceof RunPaused && run.runId !== null) {
        const waitingFor =
          'approval' in error.waitingFor
            ? { approval: error.waitingFor.approval.toolName, args: error.waitingFor.approval.args }
            : { question: error.waitingFor.question.question, member: error.waitingFor.question.addressedTo.handle };
        record.output = { ...record.output, waitingFor };
        return { status: 'waiting', error: null, resume: pauseState(run, index, error) };
      }
      const outcome = failureOutcome(run, error);
      record.error = outcome.error ?? (outcome.status === 'cancelled' ? 'Cancelled' : null);
      finishRecord(run, record);
      return outcome;
    }
    finishRecord(run, record);
    run.resume = undefined;
    if ('stop' in result) return result.stop;
    const next = result.next ?? ('next' in step ? step.next : undefined);
    if (next === 'end') return { status: 'complete', error: null };
    index = next === undefined ? index + 1 : indexById.get(next)!;
  }
  return { status: 'complete', error: null };
}

/** Puts a resumed run's state back and returns the step index to continue at. */
function restore(run: ChainRun, resume: ResumeState): number {
  run.state.memories.push(...resume.memories);
  run.state.notes.push(...resume.notes);
  run.state.chunks.push(...resume.chunks);
  run.state.inputTokens = resume.inputTokens;
  run.state.outputTokens = resume.outputTokens;
  run.state.modelName = resume.modelName;
  run.budget.steps = resume.budget.steps;
  run.budget.toolCalls = resume.budget.toolCalls;
  run.budget.tokens = resume.budget.tokens;
  return resume.stepIndex;
}

function pauseState(run: ChainRun, stepIndex: number, paused: RunPaused): ResumeState {
  const { state, budget } = run;
  return {
    stepIndex,
    memories: state.memories,
    notes: state.notes,
    chunks: state.chunks,
    inputTokens: state.inputTokens,
    outputTokens: state.outputTokens,
    ...(state.modelName ? { modelName: state.modelName } : {}),
    budget: { steps: budget.steps, toolCalls: budget.toolCalls, tokens: budget.tokens },
    ...(paused.generate ? { generate: paused.generate } : {}),
    ...paused.waitingFor,
  };
}

function startRecord(run: ChainRun, step: ChainStep): RunStep {
  const record: RunStep = {
    type: step.type,
    ...(step.id === undefined ? {} : { id: step.id }),
    input: {},
    output: null,
    usage: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    error: null,
  };
  run.steps.push(record);
  run.reply.publishStep(record);
  return record;
}

function finishRecord(run: ChainRun, record: RunStep): void {
  record.finishedAt = new Date().toISOString();
  run.reply.publishStep(record);
}

/** The run's end for an error thrown by a step (an abort's reason included). */
function failureOutcome(run: ChainRun, error: unknown): ChainOutcome {
  if (run.signal.aborted) {
    return run.signal.reason instanceof ServerStopping
      ? { status: 'interrupted', error: 'The server stopped during this reply' }
      : { status: 'cancelled', error: null };
  }
  if (error instanceof BudgetExceeded) return { status: 'failed', error: error.message };
  if (error instanceof RunPaused)
    return { status: 'failed', error: 'A called agent cannot wait for a person (approval or call_human)' };
  if (AppError.isInstance(error) && error.code !== 'internal') return { status: 'failed', error: error.message };
  run.deps.logger.error({ err: error, agentId: run.agent.id }, 'agent run step failed');
  return { status: 'failed', error: 'Internal error while running the agent' };
}
