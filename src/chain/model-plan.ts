import type { ModelCallResult } from '../providers/model-stream.ts';
import type { ResolvedModel } from '../providers/model-registry.ts';
import { renderKnowledgeBlock } from '../knowledge/rag-context.ts';
import { fitContext, type HistoryEntry, type RunContext } from './build-context.ts';
import { countTokens } from './token-count.ts';
import type { ChainRun, ChainState } from './chain-context.ts';

const defaultMaxOutputTokens = 4096;

/** What one model call sends: the model (and fallback), the fitted context and the reply's token cap. */
export interface ModelPlan {
  model: ResolvedModel;
  fallback: ResolvedModel | undefined;
  context: RunContext;
  maxOutputTokens: number;
}

/**
 * Resolves the agent's model and fits its system prompt (the perspective's when the run writes for
 * a person, with what earlier steps left: memory, documents, notes, and `instruction`) and
 * `history` into the model's window. Throws provider_error
 * (no such provider, or the history does not fit).
 */
export async function planModelCall(run: ChainRun, history: HistoryEntry[], instruction?: string): Promise<ModelPlan> {
  const { deps, agent } = run;
  const model = deps.models.resolve(agent.model);
  const fallbackName = deps.agentsConfig.fallbackModel;
  const fallback = fallbackName && fallbackName !== model.name ? deps.models.resolve(fallbackName) : undefined;
  // The reply's reserve is also its cap, so prompt + reply never exceed the window (vLLM rejects that).
  const maxOutputTokens = Math.min(agent.maxOutputTokens ?? defaultMaxOutputTokens, Math.floor(model.contextWindowTokens / 2));
  const context = await fitContext({
    agentId: agent.id,
    systemPrompt: systemPromptFor(run.perspective?.system ?? agent.systemPrompt, run.state, instruction),
    history,
    perspective: run.perspective,
    contextWindowTokens: model.contextWindowTokens,
    maxOutputTokens,
  });
  return { model, fallback, context, maxOutputTokens };
}

/** The agent's system prompt followed by what earlier steps found, each under a heading. */
function systemPromptFor(systemPrompt: string, state: ChainState, instruction: string | undefined): string {
  const sections = [systemPrompt.trim()];
  if (state.memories.length > 0)
    sections.push(`What you remember about this user:\n${state.memories.map((fact) => `- ${fact}`).join('\n')}`);
  if (state.chunks.length > 0) sections.push(renderKnowledgeBlock(state.chunks));
  if (state.notes.length > 0) sections.push(`Results of earlier steps:\n${state.notes.join('\n')}`);
  if (instruction) sections.push(instruction);
  return sections.filter((section) => section !== '').join('\n\n');
}

/**
 * Some OpenAI-compatible servers send no usage: fill the gaps with Chorus's own token counts
 * (the prompt as budgeted, the text as streamed) so every call reports usage.
 */
export async function usageOf(result: ModelCallResult, plan: ModelPlan): Promise<{ inputTokens: number; outputTokens: number }> {
  const { inputTokens, outputTokens } = result.usage;
  if (inputTokens !== undefined && outputTokens !== undefined) return { inputTokens, outputTokens };
  const prompt = [plan.context.system ?? '', ...plan.context.messages.map((turn) => turn.content)];
  const sum = async (texts: string[]) => (await countTokens(texts)).reduce((total, tokens) => total + tokens, 0);
  return {
    inputTokens: inputTokens ?? plan.context.promptTokens ?? (await sum(prompt)),
    outputTokens:
      outputTokens ?? (await sum([result.text + result.toolCalls.map((call) => call.toolName + call.input).join('')])),
  };
}
