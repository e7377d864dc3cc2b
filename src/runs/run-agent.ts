import type { Logger } from 'pino';
import type { AgentRow } from '../agents/agents.ts';
import type { Config } from '../config/config.ts';
import { AppError } from '../errors/app-error.ts';
import type { MessageUsage, PublicMessage } from '../messages/message-shape.ts';
import { appendMessage, type MessageDeps } from '../messages/messages.ts';
import type { ModelRegistry, ResolvedModel } from '../providers/model-registry.ts';
import { streamModelReply, type ModelCallResult } from '../providers/model-stream.ts';
import { conversationTopic } from '../realtime/event-bus.ts';
import { countTextTokens, fitContext, loadHistory, type HistoryEntry, type RunContext } from './build-context.ts';
import { DeltaCoalescer, PartialSaver } from './delta-coalescer.ts';
import type { PartialContentWriter } from './partial-content-writer.ts';
import { claimQueuedRun, finishMessage, finishRunRow, recordRunMessage, type RunRow, type RunStep } from './run-store.ts';

/** What a run needs from the app: storage, fan-out, models and the agents' config. */
export interface RunDeps extends MessageDeps {
  models: ModelRegistry;
  /** Batches the partial-content saves of every streaming reply. */
  partialContent: PartialContentWriter;
  agentsConfig: Config['agents'];
  logger: Logger;
}

/** One queued reply: the run row, the agent answering and the message it answers. */
export interface RunJob {
  run: RunRow;
  agent: AgentRow;
  trigger: PublicMessage;
}

/** Abort reason for an explicit cancel (WebSocket `cancel`, POST /runs/:id/cancel). */
export class RunCancelled extends Error {
  override name = 'RunCancelled';
}

/** Abort reason when this process stops mid-run; the reply ends `interrupted`. */
export class ServerStopping extends Error {
  override name = 'ServerStopping';
}

type FinalStatus = 'complete' | 'failed' | 'cancelled' | 'interrupted';

interface Outcome {
  status: FinalStatus;
  text: string;
  error: string | null;
  usage: MessageUsage | null;
  step: RunStep;
}

const defaultMaxOutputTokens = 4096;

/**
 * Executes one run as a short sequence of named steps: `openReply` (the agent's message appears,
 * status `streaming`), `generate` (`buildContext`, then `callModel` streaming deltas), `closeReply` (final content,
 * status and usage, `message.done`). The message always ends in exactly one final status, even
 * when `signal` aborts it or a step throws. Returns the final message, or undefined when the run
 * had already ended before it started (cancelled while queued).
 */
export async function executeRun(deps: RunDeps, job: RunJob, signal: AbortSignal): Promise<PublicMessage | undefined> {
  const startedAt = performance.now();
  const generateStep: RunStep = {
    type: 'generate',
    input: {},
    output: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    error: null,
  };
  // The history ends at the trigger, so it can load while the reply message is being created.
  const history = loadHistory(deps.db, job.trigger);
  history.catch(() => undefined); // awaited (and reported) in generate
  const message = await openReply(deps, job, generateStep);
  if (!message) return undefined;
  let outcome: Outcome;
  try {
    outcome = await generate(deps, job, message, generateStep, signal, history);
  } catch (error) {
    deps.logger.error({ err: error, runId: job.run.id }, 'agent run failed');
    outcome = failedOutcome(generateStep, '', error);
  }
  return closeReply(deps, job, message, outcome, startedAt);
}

/**
 * Claims the run (queued → running) and creates the agent's message, `streaming` with its runId.
 * A run cancelled while queued still gets its message, created `cancelled` with `message.done`.
 * The run row learns its message id off the critical path (and again when it finishes).
 */
async function openReply(deps: RunDeps, job: RunJob, step: RunStep): Promise<PublicMessage | undefined> {
  const claimed = await claimQueuedRun(deps.db, job.run.id, [step]);
  const { message } = await appendMessage(deps, {
    workspaceId: job.run.workspaceId,
    conversationId: job.run.conversationId,
    sender: { type: 'agent', id: job.agent.id, handle: job.agent.handle },
    content: '',
    status: claimed ? 'streaming' : 'cancelled',
    runId: job.run.id,
    threadRootId: job.trigger.threadRootId ?? undefined,
    onBehalfOf: job.run.onBehalfOf ?? undefined,
  });
  if (!claimed) {
    await deps.bus.publish(conversationTopic(message.conversationId), { type: 'message.done', message });
    return undefined;
  }
  recordRunMessage(deps.db, job.run.id, message.id).catch((error: unknown) =>
    deps.logger.warn({ err: error, runId: job.run.id }, 'recording the run message failed'),
  );
  await publishStep(deps, job, step);
  return message;
}

async function generate(
  deps: RunDeps,
  job: RunJob,
  message: PublicMessage,
  step: RunStep,
  signal: AbortSignal,
  history: Promise<HistoryEntry[]>,
): Promise<Outcome> {
  try {
    const plan = buildContext(deps, job, await history);
    step.input = {
      model: plan.model.name,
      contextWindowTokens: plan.model.contextWindowTokens,
      promptTokens: plan.context.promptTokens,
      includedMessages: plan.context.includedMessages,
      droppedMessages: plan.context.droppedMessages,
    };
    const result = await callModel(deps, job, message, plan, signal);
    return outcomeOf(withEstimatedUsage(result, plan), step);
  } catch (error) {
    return failedOutcome(step, '', error);
  }
}

/** What one model call sends: the model (and fallback), the fitted context and the reply's token cap. */
interface GenerationPlan {
  model: ResolvedModel;
  fallback: ResolvedModel | undefined;
  context: RunContext;
  maxOutputTokens: number;
}

/** Resolves the agent's model and fits the history into its window. Throws provider_error. */
function buildContext(deps: RunDeps, job: RunJob, history: HistoryEntry[]): GenerationPlan {
  const model = deps.models.resolve(job.agent.model);
  const fallbackName = deps.agentsConfig.fallbackModel;
  const fallback = fallbackName && fallbackName !== model.name ? deps.models.resolve(fallbackName) : undefined;
  // The reply's reserve is also its cap, so prompt + reply never exceed the window (vLLM rejects that).
  const maxOutputTokens = Math.min(
    job.agent.maxOutputTokens ?? defaultMaxOutputTokens,
    Math.floor(model.contextWindowTokens / 2),
  );
  const context = fitContext({
    agentId: job.agent.id,
    systemPrompt: job.agent.systemPrompt,
    history,
    contextWindowTokens: model.contextWindowTokens,
    maxOutputTokens,
  });
  return { model, fallback, context, maxOutputTokens };
}

/**
 * Streams the model's reply into the message: deltas coalesced per message onto the bus, partial
 * content saved periodically. Pending deltas are flushed and saves stopped before it returns.
 */
async function callModel(
  deps: RunDeps,
  job: RunJob,
  message: PublicMessage,
  plan: GenerationPlan,
  signal: AbortSignal,
): Promise<ModelCallResult> {
  const topic = conversationTopic(message.conversationId);
  const coalescer = new DeltaCoalescer((delta) => {
    deps.bus
      .publish(topic, { type: 'message.delta', conversationId: message.conversationId, messageId: message.id, delta })
      .catch((error: unknown) => deps.logger.warn({ err: error, messageId: message.id }, 'publishing a delta failed'));
  }, deps.agentsConfig.deltaCoalesceMs);
  let text = '';
  const saver = new PartialSaver(
    () => deps.partialContent.save(message.id, text),
    deps.agentsConfig.partialSaveIntervalMs,
    (error) => deps.logger.warn({ err: error, messageId: message.id }, 'saving partial content failed'),
  );
  try {
    return await streamModelReply({
      model: plan.model,
      fallback: plan.fallback,
      system: plan.context.system,
      messages: plan.context.messages,
      temperature: job.agent.temperature,
      maxOutputTokens: plan.maxOutputTokens,
      signal,
      policy: deps.agentsConfig,
      onText: (delta) => {
        text += delta;
        coalescer.push(delta);
        saver.markDirty();
      },
      onRetry: (info) => deps.logger.warn({ runId: job.run.id, ...info }, 'model call retried'),
    });
  } finally {
    coalescer.flush();
    await saver.stop();
  }
}

/**
 * Some OpenAI-compatible servers send no usage: fill the gaps with Chorus's own token counts
 * (the prompt as budgeted, the text as streamed) so every reply reports usage.
 */
function withEstimatedUsage(result: ModelCallResult, plan: GenerationPlan): ModelCallResult {
  const { inputTokens, outputTokens } = result.usage;
  if (inputTokens !== undefined && outputTokens !== undefined) return result;
  const prompt = [plan.context.system ?? '', ...plan.context.messages.map((turn) => turn.content)];
  return {
    ...result,
    usage: {
      inputTokens: inputTokens ?? plan.context.promptTokens ?? prompt.reduce((sum, text) => sum + countTextTokens(text), 0),
      outputTokens: outputTokens ?? countTextTokens(result.text),
    },
  };
}

function outcomeOf(result: ModelCallResult, step: RunStep): Outcome {
  const status: FinalStatus =
    result.outcome === 'completed'
      ? 'complete'
      : result.outcome === 'failed'
        ? 'failed'
        : result.abortReason instanceof ServerStopping
          ? 'interrupted'
          : 'cancelled';
  const error =
    status === 'failed'
      ? (result.error ?? 'The model call failed')
      : status === 'interrupted'
        ? 'The server stopped during this reply'
        : null;
  step.output = {
    finishReason: result.finishReason ?? null,
    model: result.modelName,
    attempts: result.attempts,
    firstTokenMs: result.firstTokenMs ?? null,
    outputChars: result.text.length,
  };
  step.error = error;
  return {
    status,
    text: result.text,
    error,
    usage: { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens, model: result.modelName },
    step,
  };
}

function failedOutcome(step: RunStep, text: string, error: unknown): Outcome {
  const readable =
    AppError.isInstance(error) && error.code !== 'internal' ? error.message : 'Internal error while running the agent';
  step.error = readable;
  return { status: 'failed', text, error: readable, usage: null, step };
}

async function closeReply(
  deps: RunDeps,
  job: RunJob,
  message: PublicMessage,
  outcome: Outcome,
  startedAt: number,
): Promise<PublicMessage | undefined> {
  const latencyMs = Math.round(performance.now() - startedAt);
  const usage: MessageUsage = { ...outcome.usage, latencyMs };
  outcome.step.finishedAt = new Date().toISOString();
  const final = await finishMessage(deps.db, message.id, {
    content: outcome.text,
    status: outcome.status,
    error: outcome.error,
    usage,
  });
  const runStatus = outcome.status === 'complete' ? 'completed' : outcome.status;
  await finishRunRow(deps.db, job.run.id, {
    status: runStatus,
    messageId: message.id,
    steps: [outcome.step],
    usage,
    error: outcome.error,
  });
  await publishStep(deps, job, outcome.step);
  if (final) await deps.bus.publish(conversationTopic(final.conversationId), { type: 'message.done', message: final });
  return final;
}

async function publishStep(deps: RunDeps, job: RunJob, step: RunStep): Promise<void> {
  await deps.bus.publish(conversationTopic(job.run.conversationId), {
    type: 'run.step',
    runId: job.run.id,
    conversationId: job.run.conversationId,
    step: { ...step },
  });
}
