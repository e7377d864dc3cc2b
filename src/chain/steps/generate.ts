import type { LanguageModelV4Message, LanguageModelV4ToolResultPart } from '@ai-sdk/provider';
import { streamModelReply, type ModelCallResult, type ModelToolCall } from '../../providers/model-stream.ts';
import { recordUsage, type ChainRun, type StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';
import { planModelCall, usageOf, type ModelPlan } from '../model-plan.ts';
import { RunPaused } from '../run-pause.ts';
import type { RunStep } from '../run-step.ts';
import { agentTools, executeToolCall, toModelTools } from '../tool-calls.ts';

type GenerateStep = Extract<ChainStep, { type: 'generate' }>;

const defaultMaxRounds = 8;

/**
 * `generate`: the agent's reply, streamed into the reply sink, with the agent's MCP tools. Runs
 * model rounds: a round that asks for tools runs them (each a live `tool-call` part) and feeds the
 * results to the next round; a round that answers in text ends the step. The last allowed round
 * (`maxRounds`, default 8) gets no tools, so it answers. Each round after the first counts as a
 * step of the run's budget; tokens are checked before and after each round.
 */
export const generate: StepHandler<GenerateStep> = async (run, step, record) => {
  const history = await run.history;
  const resolved = step.tools === false ? { tools: [], errors: [] } : await agentTools(run);
  const maxRounds = step.maxRounds ?? defaultMaxRounds;
  const plan = await planModelCall(run, history, step.instruction);
  record.input = {
    model: plan.model.name,
    contextWindowTokens: plan.model.contextWindowTokens,
    promptTokens: plan.context.promptTokens,
    includedMessages: plan.context.includedMessages,
    droppedMessages: plan.context.droppedMessages,
    tools: resolved.tools.map((tool) => tool.name),
    ...(resolved.errors.length > 0 ? { toolErrors: resolved.errors } : {}),
  };
  const resumed = run.resume?.generate;
  const continuation: LanguageModelV4Message[] = resumed?.continuation ?? [];
  let toolCalls = resumed?.toolCalls ?? 0;
  let round = resumed?.round ?? 1;
  /** Runs `calls` in order, then adds their results to the prompt; pauses (RunPaused with this state) on a call awaiting approval. */
  const runCalls = async (calls: ModelToolCall[], results: LanguageModelV4ToolResultPart[]) => {
    for (const [index, call] of calls.entries()) {
      try {
        results.push((await executeToolCall(run, resolved.tools, call)).result);
      } catch (error) {
        if (!(error instanceof RunPaused)) throw error;
        throw new RunPaused(error.waitingFor, { continuation, round, toolCalls, pendingCalls: calls.slice(index), results });
      }
      toolCalls++;
    }
    continuation.push({ role: 'tool', content: results });
  };
  if (resumed) {
    await runCalls(resumed.pendingCalls, resumed.results);
    record.output = { ...record.output, toolCalls };
    round++;
  }
  for (; round <= maxRounds; round++) {
    if (round > 1) run.budget.spendStep();
    run.budget.checkTokens();
    const offerTools = round < maxRounds && resolved.tools.length > 0;
    const last = await callModel(run, plan, continuation, offerTools ? resolved : undefined);
    if (last.outcome === 'aborted') throw last.abortReason;
    recordUsage(run, record, await usageOf(last, plan), last.modelName);
    record.output = outputOf(last, round, toolCalls);
    if (last.outcome === 'failed') {
      record.error = last.error ?? 'The model call failed';
      return { stop: { status: 'failed', error: record.error } };
    }
    run.budget.checkTokens();
    if (last.toolCalls.length === 0) break;
    continuation.push({
      role: 'assistant',
      content: [
        ...(last.text ? [{ type: 'text' as const, text: last.text }] : []),
        ...last.toolCalls.map((call) => ({
          type: 'tool-call' as const,
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          input: parseInput(call.input),
        })),
      ],
    });
    await run.checkpoint();
    await runCalls(last.toolCalls, []);
    record.output = outputOf(last, round, toolCalls);
  }
  return { next: step.next };
};

/** One model round streamed into the reply; the reply opens as soon as the request is out. */
function callModel(
  run: ChainRun,
  plan: ModelPlan,
  continuation: LanguageModelV4Message[],
  tools: Awaited<ReturnType<typeof agentTools>> | undefined,
): Promise<ModelCallResult> {
  const openReply = () => void run.reply.open().catch(() => undefined);
  // Text of a round after tool calls starts a new paragraph.
  let separator = run.reply.text !== '' && !/\s$/.test(run.reply.text) ? '\n\n' : '';
  return streamModelReply({
    model: plan.model,
    fallback: plan.fallback,
    system: plan.context.system,
    messages: plan.context.messages,
    continuation,
    ...(tools ? { tools: toModelTools(tools.tools), toolChoice: { type: 'auto' as const } } : {}),
    temperature: run.agent.temperature,
    maxOutputTokens: plan.maxOutputTokens,
    signal: run.signal,
    policy: run.deps.agentsConfig,
    onText: (delta) => {
      openReply();
      run.reply.pushText(separator + delta);
      separator = '';
    },
    onRequestSent: openReply,
    onRetry: (info) => run.deps.logger.warn({ agentId: run.agent.id, ...info }, 'model call retried'),
  });
}

function outputOf(result: ModelCallResult, rounds: number, toolCalls: number): RunStep['output'] {
  return {
    finishReason: result.finishReason ?? null,
    model: result.modelName,
    attempts: result.attempts,
    firstTokenMs: result.firstTokenMs ?? null,
    outputChars: result.text.length,
    rounds,
    toolCalls,
  };
}

function parseInput(input: string): unknown {
  try {
    return JSON.parse(input || '{}');
  } catch {
    return {};
  }
}
