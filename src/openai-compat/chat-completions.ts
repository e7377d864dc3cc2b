import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import { findAgentByHandle, listAgents } from '../agents/agents.ts';
import type { Config } from '../config/config.ts';
import type { Executor } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { ModelRegistry } from '../providers/model-registry.ts';
import { streamModelReply, type ChatTurn, type ModelCallResult } from '../providers/model-stream.ts';

/** The accepted subset of an OpenAI Chat Completions request. */
export interface ChatCompletionRequest {
  model: string;
  messages: Array<{ role: string; content?: string | Array<{ type: string; text?: string }> | null }>;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  temperature?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
}

/** What a completion needs: storage (agents), models and the call policy in `config.agents`. */
export interface CompletionDeps {
  db: Executor;
  models: ModelRegistry;
  config: Config;
}

/** `GET /v1/models`: every agent of the workspace as a model named by its handle. */
export async function listAgentModels(db: Executor, principal: Principal) {
  const agents = await listAgents(db, principal);
  return {
    object: 'list' as const,
    data: agents.map((agent) => ({
      id: agent.handle,
      object: 'model' as const,
      created: Math.floor(Date.parse(agent.createdAt) / 1000),
      owned_by: 'chorus',
    })),
  };
}

/**
 * Runs the agent named by `request.model` (its handle) on the given messages, outside any
 * conversation: its system prompt first, then the request's system messages, then the turns.
 * Streams text through `onText`; resolves with the model call's result. `signal` aborts the
 * upstream request (the HTTP client went away). Throws not_found (no such agent),
 * provider_error (no provider configured / model unknown).
 */
export async function runChatCompletion(
  deps: CompletionDeps,
  principal: Principal,
  request: ChatCompletionRequest,
  signal: AbortSignal,
  onText: (text: string) => void,
): Promise<ModelCallResult> {
  const agent = await findAgentByHandle(deps.db, principal.workspaceId, request.model);
  if (!agent) throw new AppError('not_found', `The model '${request.model}' does not exist`);
  const model = deps.models.resolve(agent.model);
  const systemParts = [agent.systemPrompt.trim()];
  const messages: ChatTurn[] = [];
  for (const message of request.messages) {
    const text = textOf(message.content);
    if (message.role === 'system' || message.role === 'developer') systemParts.push(text);
    else if (message.role === 'user') messages.push({ role: 'user', content: text });
    else if (message.role === 'assistant') messages.push({ role: 'assistant', content: text });
  }
  if (!messages.some((message) => message.role === 'user'))
    throw new AppError('invalid_request', 'messages must contain a user message');
  return streamModelReply({
    model,
    system: systemParts.filter(Boolean).join('\n\n') || undefined,
    messages,
    temperature: request.temperature ?? agent.temperature,
    maxOutputTokens: request.max_completion_tokens ?? request.max_tokens ?? agent.maxOutputTokens ?? 4096,
    signal,
    policy: deps.config.agents,
    onText,
  });
}

function textOf(content: ChatCompletionRequest['messages'][number]['content']): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('');
}

const finishReasons: Record<string, string> = {
  stop: 'stop',
  length: 'length',
  'content-filter': 'content_filter',
  'tool-calls': 'tool_calls',
};

/** Builders of the OpenAI wire objects for one completion. */
export function completionShapes(model: string) {
  const id = `chatcmpl-${uuidv7()}`;
  const created = Math.floor(Date.now() / 1000);
  const usageOf = (result: ModelCallResult) => {
    const prompt = result.usage.inputTokens ?? 0;
    const completion = result.usage.outputTokens ?? 0;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };
  const finishOf = (result: ModelCallResult) => finishReasons[result.finishReason ?? 'stop'] ?? 'stop';
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices,
    ...extra,
  });
  return {
    completion: (result: ModelCallResult) => ({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: result.text, refusal: null },
          logprobs: null,
          finish_reason: finishOf(result),
        },
      ],
      usage: usageOf(result),
    }),
    roleChunk: () => chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]),
    textChunk: (text: string) => chunk([{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }]),
    finishChunk: (result: ModelCallResult) => chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishOf(result) }]),
    usageChunk: (result: ModelCallResult) => chunk([], { usage: usageOf(result) }),
  };
}
