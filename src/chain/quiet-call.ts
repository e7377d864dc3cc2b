import type { LanguageModelV4CallOptions, LanguageModelV4FunctionTool, LanguageModelV4ToolChoice } from '@ai-sdk/provider';
import { AppError } from '../errors/app-error.ts';
import { streamModelReply, type ModelCallResult } from '../providers/model-stream.ts';
import type { HistoryEntry } from './build-context.ts';
import { recordUsage, type ChainRun } from './chain-context.ts';
import { planModelCall, usageOf } from './model-plan.ts';
import type { RunStep } from './run-step.ts';

/**
 * One model call whose text is not shown (decide, use_tool arguments, memory extraction): the
 * agent's model and system prompt with `instruction`, over `history`, with structured output
 * (`responseFormat`) or a forced tool. Records usage on `record`. Throws the abort reason when
 * aborted, AppError provider_error when the call fails, BudgetExceeded past the token budget.
 */
export async function callModelQuietly(
  run: ChainRun,
  record: RunStep,
  options: {
    history: HistoryEntry[];
    instruction: string;
    responseFormat?: LanguageModelV4CallOptions['responseFormat'];
    tools?: LanguageModelV4FunctionTool[];
    toolChoice?: LanguageModelV4ToolChoice;
  },
): Promise<ModelCallResult> {
  run.budget.checkTokens();
  const plan = await planModelCall(run, options.history, options.instruction);
  const result = await streamModelReply({
    model: plan.model,
    fallback: plan.fallback,
    system: plan.context.system,
    messages: plan.context.messages,
    tools: options.tools,
    toolChoice: options.toolChoice,
    responseFormat: options.responseFormat,
    temperature: 0,
    maxOutputTokens: Math.min(plan.maxOutputTokens, 1024),
    signal: run.signal,
    policy: run.deps.agentsConfig,
    onText: () => undefined,
  });
  if (result.outcome === 'aborted') throw result.abortReason;
  recordUsage(run, record, await usageOf(result, plan), result.modelName);
  if (result.outcome === 'failed') throw new AppError('provider_error', result.error ?? 'The model call failed');
  run.budget.checkTokens();
  return result;
}

/** The first JSON object in `text` (models sometimes wrap it in prose or a code fence); undefined if none. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start === -1 || end < start) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(start, end + 1));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
