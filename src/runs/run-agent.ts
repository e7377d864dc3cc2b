import type { Logger } from 'pino';
import type { AgentRow } from '../agents/agents.ts';
import type { Config } from '../config/config.ts';
import { AppError } from '../errors/app-error.ts';
import type { MessageUsage, PublicMessage } from '../messages/message-shape.ts';
import { appendMessage, type MessageDeps } from '../messages/messages.ts';
import type { ModelRegistry, ResolvedModel } from '../providers/model-registry.ts';
import { streamModelReply, type ModelCallResult } from '../providers/model-stream.ts';
import { conversationTopic } from '../bus/event-bus.ts';
import { countTextTokens, fitContext, loadHistory, type HistoryEntry, type RunContext } from './build-context.ts';
import { DeltaCoalescer, PartialSaver } from './delta-coalescer.ts';
import type { PartialContentWriter } from './partial-content-writer.ts';
import { retrieveKnowledgeContext, type CitationPart, type KnowledgeContext } from '../knowledge/rag-context.ts';
import type { SearchDeps } from '../knowledge/search-knowledge.ts';
import { claimQueuedRun, finishMessage, finishRunRow, type RunRow, type RunStep } from './run-store.ts';

/** What a run needs from the app: storage, fan-out, models and the agents' config. */
export interface RunDeps extends MessageDeps {
  models: ModelRegistry;
  /** Batches the partial-content saves of every streaming reply. */
  partialContent: PartialContentWriter;
  agentsConfig: Config['agents'];
  logger: Logger;
  /** Knowledge retrieval for agents with knowledge bases: where to search and how many chunks. */
  retrieval?: { search: SearchDeps; limit: number };
}

/** One reply to run: the run, the agent answering and the message it answers. */
export interface RunJob {
  run: Pick<RunRow, 'id' | 'workspaceId' | 'conversationId' | 'onBehalfOf'>;
  agent: AgentRow;
  trigger: PublicMessage;
  /**
   * Set when the run starts at once (its mailbox was idle): nothing to claim; `insert()` writes the
   * run row `running` with `step` (once; rejects with the write's error) and must precede the reply
   * message; `abandon()` releases the requester when the run ends without writing it.
   */
  started?: { step: RunStep; insert(): Promise<void>; abandon(): void };
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
  /** Citation parts of the knowledge the reply was given. */
  parts?: CitationPart[];
}

const defaultMaxOutputTokens = 4096;
/** The reply message is created at most this long after its run starts (ms), request out or not. */
const replyOpenMaxDelayMs = 25;

/** A run's `generate` step as it starts (stored when the run is claimed or inserted `running`). */
export function newGenerateStep(): RunStep {
  return { type: 'generate', input: {}, output: null, startedAt: new Date().toISOString(), finishedAt: null, error: null };
}

/**
 * Executes one run as a short sequence of named steps: `openReply` (the agent's message appears,
 * status `streaming`), `generate` (`buildContext`, then `callModel` streaming deltas), `closeReply`
 * (final content, status and usage, `message.done`). The model is called as soon as the context is
 * loaded; the run row and the reply message are written once the request is out: text that arrives
 * first is held and sent as the first delta once the message exists, so `message.delta` never
 * precedes its `message`.
 * The message always ends in exactly one final status, even when `signal` aborts it or a step
 * throws. Returns the final message, or undefined when the run had already ended before it
 * started (cancelled while queued). Throws when the reply message cannot be created (the model
 * call is aborted first).
 */
export async function executeRun(deps: RunDeps, job: RunJob, signal: AbortSignal): Promise<PublicMessage | undefined> {
  const startedAt = performance.now();
  // The history ends at the trigger, so it loads while the run is claimed.
  const history = loadHistory(deps.db, job.trigger, job.agent.id);
  history.catch(() => undefined); // awaited (and reported) in generate
  const step = job.started?.step ?? newGenerateStep();
  if (!job.started && !(await claimQueuedRun(deps.db, job.run.id, [step]))) {
    await openReply(deps, job, step, 'cancelled');
    return undefined;
  }
  const stopCall = new AbortController();
  // The run row and the reply are written once the model request is out (or the call failed before
  // it), so the request does not queue behind them in the database; text that arrives first is held.
  // Bounded by replyOpenMaxDelayMs when the request cannot go out (a provider down, retries).
  const requestOut = Promise.withResolvers<void>();
  const openBy = setTimeout(requestOut.resolve, replyOpenMaxDelayMs);
  const reply = requestOut.promise.then(() => {
    clearTimeout(openBy);
    return openReply(deps, job, step, 'streaming');
  });
  reply.catch(() => undefined); // awaited below
  const generation = generate(deps, job, reply, step, AbortSignal.any([signal, stopCall.signal]), history, () =>
    requestOut.resolve(),
  );
  let message: PublicMessage;
  try {
    message = await reply;
  } catch (error) {
    stopCall.abort(error);
    await generation;
    throw error;
  }
  return closeReply(deps, job, message, await generation, startedAt);
}

/**
 * Creates the agent's message with its runId (after the run row is written, when it is being):
 * `streaming` for a claimed run, `cancelled` with `message.done` for a run cancelled while queued.
 * The run row stores the message id when it finishes (`findStreamingReplyId` reads it before).
 */
async function openReply(deps: RunDeps, job: RunJob, step: RunStep, status: 'streaming' | 'cancelled'): Promise<PublicMessage> {
  await job.started?.insert();
  const { message } = await appendMessage(deps, {
    workspaceId: job.run.workspaceId,
    conversationId: job.run.conversationId,
    sender: { type: 'agent', id: job.agent.id, handle: job.agent.handle },
    content: '',
    status,
    runId: job.run.id,
    threadRootId: job.trigger.threadRootId ?? undefined,
    onBehalfOf: job.run.onBehalfOf ?? undefined,
  });
  if (status === 'cancelled') {
    await deps.bus.publish(conversationTopic(message.conversationId), { type: 'message.done', message });
    return message;
  }
  await publishStep(deps, job, step);
  return message;
}

/**
 * Builds the context and calls the model; `requestOut` is called once the model request has been
 * handed to the network, or when the context cannot be built or the call ends before that. Never
 * throws: a failure becomes a `failed` outcome.
 */
async function generate(
  deps: RunDeps,
  job: RunJob,
  reply: Promise<PublicMessage>,
  step: RunStep,
  signal: AbortSignal,
  history: Promise<HistoryEntry[]>,
  requestOut: () => void,
): Promise<Outcome> {
  try {
    const knowledge = await retrieveKnowledge(deps, job);
    const plan = buildContext(deps, job, await history, knowledge.system);
    step.input = {
      model: plan.model.name,
      contextWindowTokens: plan.model.contextWindowTokens,
      promptTokens: plan.context.promptTokens,
      includedMessages: plan.context.includedMessages,
      droppedMessages: plan.context.droppedMessages,
      retrievedChunks: knowledge.citations.length,
    };
    const result = await callModel(deps, job, reply, plan, signal, requestOut);
    return { ...outcomeOf(withEstimatedUsage(result, plan), step), parts: knowledge.citations };
  } catch (error) {
    requestOut();
    if (!AppError.isInstance(error)) deps.logger.error({ err: error, runId: job.run.id }, 'agent run failed');
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

/**
 * The agent's knowledge for this reply (SPEC §6 `rag`): the top chunks of its knowledge bases for
 * the trigger's text, as a system block and citation parts. Retrieval that fails (an embedding
 * provider down) is logged and the reply goes on without knowledge.
 */
async function retrieveKnowledge(deps: RunDeps, job: RunJob): Promise<KnowledgeContext> {
  const { retrieval } = deps;
  if (!retrieval || job.agent.knowledgeBaseIds.length === 0 || retrieval.limit === 0) return { system: undefined, citations: [] };
  try {
    return await retrieveKnowledgeContext(retrieval.search, {
      workspaceId: job.run.workspaceId,
      knowledgeBaseIds: job.agent.knowledgeBaseIds,
      query: job.trigger.content,
      limit: retrieval.limit,
    });
  } catch (error) {
    deps.logger.warn({ err: error, runId: job.run.id }, 'knowledge retrieval failed; replying without it');
    return { system: undefined, citations: [] };
  }
}

/** Resolves the agent's model and fits the history (and retrieved knowledge) into its window. Throws provider_error. */
function buildContext(deps: RunDeps, job: RunJob, history: HistoryEntry[], knowledge: string | undefined): GenerationPlan {
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
    systemPrompt: [job.agent.systemPrompt.trim(), knowledge].filter(Boolean).join('\n\n'),
    history,
    contextWindowTokens: model.contextWindowTokens,
    maxOutputTokens,
  });
  return { model, fallback, context, maxOutputTokens };
}

/**
 * Streams the model's reply into the message once `reply` (its creation) resolves: deltas
 * coalesced per message onto the bus, partial content saved periodically; text streamed before
 * that is held and goes out as the first delta. Calls `requestOut` once the request has been
 * handed to the network, and at the latest when the call ends. Pending deltas are flushed and saves
 * stopped before it returns.
 */
async function callModel(
  deps: RunDeps,
  job: RunJob,
  reply: Promise<PublicMessage>,
  plan: GenerationPlan,
  signal: AbortSignal,
  requestOut: () => void,
): Promise<ModelCallResult> {
  let text = '';
  let live: LiveReply | undefined;
  const attached = reply.then((message) => {
    live = startLiveReply(deps, message, () => text);
    live.push(text);
  });
  attached.catch(() => undefined); // the caller handles a reply that could not be created
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
        requestOut();
        text += delta;
        live?.push(delta);
      },
      onRequestSent: requestOut,
      onRetry: (info) => deps.logger.warn({ runId: job.run.id, ...info }, 'model call retried'),
    });
  } finally {
    requestOut(); // a call that ended without sending (no provider reachable) still opens its reply now
    await attached.catch(() => undefined);
    await live?.close();
  }
}

/** The live side of a streaming message: coalesced deltas on the bus and periodic partial saves. */
interface LiveReply {
  push(delta: string): void;
  /** Publishes what is pending and waits for a partial save in flight. */
  close(): Promise<void>;
}

function startLiveReply(deps: RunDeps, message: PublicMessage, currentText: () => string): LiveReply {
  const topic = conversationTopic(message.conversationId);
  let published = 0; // UTF-16 code units of the reply already published: the next delta's offset
  const coalescer = new DeltaCoalescer((delta) => {
    const offset = published;
    published += delta.length;
    deps.bus
      .publish(topic, { type: 'message.delta', conversationId: message.conversationId, messageId: message.id, delta, offset })
      .catch((error: unknown) => deps.logger.warn({ err: error, messageId: message.id }, 'publishing a delta failed'));
  }, deps.agentsConfig.deltaCoalesceMs);
  const saver = new PartialSaver(
    () => deps.partialContent.save(message.id, currentText()),
    deps.agentsConfig.partialSaveIntervalMs,
    (error) => deps.logger.warn({ err: error, messageId: message.id }, 'saving partial content failed'),
  );
  return {
    push(delta) {
      if (delta === '') return;
      coalescer.push(delta);
      saver.markDirty();
    },
    async close() {
      coalescer.flush();
      await saver.stop();
    },
  };
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
    ...(outcome.parts?.length ? { parts: outcome.parts } : {}),
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
