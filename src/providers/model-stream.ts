import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  LanguageModelV4CallOptions,
  LanguageModelV4FunctionTool,
  LanguageModelV4Message,
  LanguageModelV4Prompt,
  LanguageModelV4ToolChoice,
} from '@ai-sdk/provider';
import {
  describeProviderError,
  isRetryableProviderError,
  MalformedStreamError,
  ModelTimeoutError,
  retryDelayMs,
} from './model-errors.ts';
import type { ResolvedModel } from './model-registry.ts';

/** Timeouts and retry backoff for one model call (from `config.agents`). */
interface ModelCallPolicy {
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  /** Extra attempts after a retryable failure before the first token. */
  maxRetries: number;
  retryBaseDelayMs: number;
  /** A provider asking to wait longer than this (Retry-After) fails the call instead. */
  maxRetryDelayMs: number;
}

/** One turn of a chat prompt: the agent's own words are `assistant`, everyone else's `user`. */
export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

/** One model call: the model (and optional fallback), prompt, limits, cancellation and callbacks. */
export interface ModelCallInput {
  model: ResolvedModel;
  /** Tried once, only when `model` fails before producing any text. */
  fallback?: ResolvedModel;
  system: string | undefined;
  messages: ChatTurn[];
  /** Prompt messages after `messages`: the assistant's tool calls and their results of earlier rounds. */
  continuation?: LanguageModelV4Message[];
  /** Tools the model may call (AI SDK LanguageModel spec function tools). */
  tools?: LanguageModelV4FunctionTool[];
  toolChoice?: LanguageModelV4ToolChoice;
  /** Structured output: `{type: 'json', schema}` asks for JSON matching the schema. */
  responseFormat?: LanguageModelV4CallOptions['responseFormat'];
  temperature?: number | null;
  maxOutputTokens: number;
  /** Cancellation from outside (cancel, shutdown, a client gone); its reason is reported back. */
  signal: AbortSignal;
  policy: ModelCallPolicy;
  /** Each text delta as it arrives, in order. */
  onText(text: string): void;
  /**
   * Called when a request of this call has been written to the provider's socket (each attempt),
   * through undici's `undici:request:bodySent` diagnostics channel (the built-in fetch).
   */
  onRequestSent?(): void;
  onRetry?(info: { attempt: number; delayMs: number; error: string }): void;
}

/** How a model call ended. `text` is everything streamed, also when it did not complete. */
export interface ModelCallResult {
  outcome: 'completed' | 'aborted' | 'failed';
  text: string;
  /** The tool calls the model asked for, complete (`input` is the JSON text of the arguments). */
  toolCalls: ModelToolCall[];
  /** The `provider/model` that produced the text (the fallback when it was used). */
  modelName: string;
  usage: { inputTokens?: number; outputTokens?: number };
  finishReason?: string;
  /** Readable failure, for the message's `error`. */
  error?: string;
  /** `signal.reason` when outcome is `aborted`. */
  abortReason?: unknown;
  attempts: number;
  /** Milliseconds from the call's start to the first text delta. */
  firstTokenMs?: number;
}

/** A tool call as the model streamed it. */
export interface ModelToolCall {
  toolCallId: string;
  toolName: string;
  /** JSON text of the arguments. */
  input: string;
}

/** The `onRequestSent` of the model call whose async context a fetch runs in. */
const requestSentListener = new AsyncLocalStorage<() => void>();
subscribe('undici:request:bodySent', () => requestSentListener.getStore()?.());

/**
 * Streams one reply from a model with Chorus's failure policy: retries with backoff on 429, 5xx
 * and network errors (honouring Retry-After) only before the first text; a first-token timeout
 * and an idle timeout; a malformed stream event fails the call (the upstream request is aborted);
 * the fallback model is tried only when nothing was streamed. Never throws: every ending is a result.
 * Empty deltas (OpenAI's opening role chunk) are not text and do not count as the first token.
 */
export function streamModelReply(input: ModelCallInput): Promise<ModelCallResult> {
  return input.onRequestSent
    ? requestSentListener.run(input.onRequestSent, streamWithFallback, input)
    : streamWithFallback(input);
}

async function streamWithFallback(input: ModelCallInput): Promise<ModelCallResult> {
  const startedAt = performance.now();
  const first = await streamWithRetries(input, input.model, startedAt);
  if (
    first.outcome !== 'failed' ||
    first.text !== '' ||
    first.toolCalls.length > 0 ||
    !input.fallback ||
    input.fallback.name === input.model.name
  )
    return first;
  const second = await streamWithRetries(input, input.fallback, startedAt);
  return { ...second, attempts: first.attempts + second.attempts };
}

async function streamWithRetries(input: ModelCallInput, model: ResolvedModel, startedAt: number): Promise<ModelCallResult> {
  let attempts = 0;
  for (;;) {
    attempts++;
    const result = await streamOnce(input, model, startedAt);
    const failure = result.failure;
    if (!failure) return { ...result.value, attempts };
    const canRetry =
      result.value.text === '' &&
      result.value.toolCalls.length === 0 &&
      attempts <= input.policy.maxRetries &&
      isRetryableProviderError(failure);
    if (!canRetry) return { ...result.value, attempts };
    const delayMs = retryDelayMs(failure, attempts, input.policy.retryBaseDelayMs);
    if (delayMs > input.policy.maxRetryDelayMs) {
      return { ...result.value, attempts, error: `${result.value.error} (asked to retry after ${Math.ceil(delayMs / 1000)} s)` };
    }
    input.onRetry?.({ attempt: attempts, delayMs, error: result.value.error ?? '' });
    try {
      await sleep(delayMs, undefined, { signal: input.signal });
    } catch {
      return { ...result.value, outcome: 'aborted', abortReason: input.signal.reason, error: undefined, attempts };
    }
  }
}

/**
 * Calls the provider model directly (`doStream`) rather than through `streamText`: Chorus runs its
 * own loop (retries, timeouts, steps), and skipping streamText's per-chunk pipeline cuts the CPU
 * per streamed token about threefold (docs/decisions/0004-agents-call-provider-models-directly.md).
 */
async function streamOnce(
  input: ModelCallInput,
  model: ResolvedModel,
  startedAt: number,
): Promise<{ value: ModelCallResult; failure?: unknown }> {
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(input.signal.reason);
  if (input.signal.aborted) forwardAbort();
  else input.signal.addEventListener('abort', forwardAbort, { once: true });
  const watchdog = new Watchdog(controller, input.policy);
  const value: ModelCallResult = { outcome: 'completed', text: '', toolCalls: [], modelName: model.name, usage: {}, attempts: 0 };
  let failure: unknown;
  try {
    const { stream } = await model.languageModel.doStream({
      prompt: toPrompt(input.system, input.messages, input.continuation),
      ...(input.tools?.length ? { tools: input.tools, toolChoice: input.toolChoice } : {}),
      ...(input.responseFormat ? { responseFormat: input.responseFormat } : {}),
      temperature: input.temperature ?? undefined,
      maxOutputTokens: input.maxOutputTokens,
      abortSignal: controller.signal,
    });
    const reader = stream.getReader();
    for (;;) {
      const { done, value: part } = await reader.read();
      if (done) break;
      if (part.type === 'text-delta') {
        if (part.delta === '') continue;
        if (value.text === '') value.firstTokenMs = Math.round(performance.now() - startedAt);
        watchdog.sawOutput();
        value.text += part.delta;
        input.onText(part.delta);
      } else if (part.type === 'reasoning-delta' || part.type === 'tool-input-delta') {
        watchdog.sawOutput();
      } else if (part.type === 'tool-call') {
        watchdog.sawOutput();
        value.toolCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
      } else if (part.type === 'finish') {
        value.finishReason = part.finishReason.unified;
        value.usage = { inputTokens: part.usage.inputTokens.total, outputTokens: part.usage.outputTokens.total };
      } else if (part.type === 'error') {
        failure = isParseError(part.error) ? new MalformedStreamError('The provider sent a malformed stream event') : part.error;
        controller.abort(failure);
        reader.cancel().catch(() => undefined);
        break;
      }
    }
  } catch (error) {
    failure ??= error;
  } finally {
    watchdog.stop();
    input.signal.removeEventListener('abort', forwardAbort);
  }
  if (input.signal.aborted) return { value: { ...value, outcome: 'aborted', abortReason: input.signal.reason } };
  if (controller.signal.aborted && controller.signal.reason instanceof ModelTimeoutError) failure = controller.signal.reason;
  if (!failure && (value.finishReason === undefined || value.finishReason === 'interrupted' || value.finishReason === 'error')) {
    failure = new MalformedStreamError('The provider closed the stream before the reply finished');
  }
  if (failure) return { value: { ...value, outcome: 'failed', error: describeProviderError(failure, model.provider) }, failure };
  return { value };
}

function toPrompt(
  system: string | undefined,
  messages: ChatTurn[],
  continuation: LanguageModelV4Message[] = [],
): LanguageModelV4Prompt {
  const prompt: LanguageModelV4Prompt = system ? [{ role: 'system', content: system }] : [];
  for (const message of messages) prompt.push({ role: message.role, content: [{ type: 'text', text: message.content }] });
  prompt.push(...continuation);
  return prompt;
}

function isParseError(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name ?? '';
  return name === 'AI_JSONParseError' || name === 'AI_TypeValidationError';
}

/**
 * One timer per call, lazily re-armed: output only stamps `lastOutputAt`; when the timer fires it
 * either aborts (first-token or idle timeout) or sleeps for the time left. Keeps a per-token cost
 * of one clock read at thousands of concurrent streams.
 */
class Watchdog {
  #controller: AbortController;
  #policy: ModelCallPolicy;
  #timer: NodeJS.Timeout | undefined;
  #lastOutputAt: number | undefined;

  constructor(controller: AbortController, policy: ModelCallPolicy) {
    this.#controller = controller;
    this.#policy = policy;
    this.#timer = setTimeout(() => this.#fire(), policy.firstTokenTimeoutMs);
  }

  sawOutput(): void {
    const first = this.#lastOutputAt === undefined;
    this.#lastOutputAt = performance.now();
    if (first && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#fire(), this.#policy.idleTimeoutMs);
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    if (this.#lastOutputAt === undefined) {
      this.#controller.abort(new ModelTimeoutError('first-token', this.#policy.firstTokenTimeoutMs));
      return;
    }
    const left = this.#lastOutputAt + this.#policy.idleTimeoutMs - performance.now();
    if (left <= 0) this.#controller.abort(new ModelTimeoutError('idle', this.#policy.idleTimeoutMs));
    else this.#timer = setTimeout(() => this.#fire(), Math.ceil(left));
  }
}
