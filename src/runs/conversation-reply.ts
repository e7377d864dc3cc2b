import { and, eq } from 'drizzle-orm';
import type { RunStep } from '../chain/run-step.ts';
import { conversationTopic } from '../bus/event-bus.ts';
import { messages } from '../db/schema.ts';
import type { MessagePart, MessageUsage, PublicMessage } from '../messages/message-shape.ts';
import { appendMessage } from '../messages/messages.ts';
import { LiveText } from './delta-coalescer.ts';
import type { RunDeps, RunJob, RunReply } from './run-agent.ts';
import { finishMessage } from './run-store.ts';

/**
 * The agent's message in the conversation, as a run's `ReplySink`. `open()` writes the run row
 * (when the run started at once) then creates the message `streaming` and publishes `message`;
 * text and parts that came before are held and go out right after it, as do `run.step` frames, so
 * nothing about a reply precedes its `message`. Text deltas are coalesced per message
 * (`CHORUS_DELTA_COALESCE_MS`), carry their `offset` in the content, and are saved periodically;
 * a part change flushes pending text first, then publishes `message.delta {partIndex, part}` and
 * saves the parts.
 */
export class ConversationReply implements RunReply {
  parts: MessagePart[] = [];
  message: PublicMessage | undefined;
  #deps: RunDeps;
  #job: RunJob;
  #steps: RunStep[];
  #opening: Promise<void> | undefined;
  #pendingSteps: RunStep[] = [];
  #live = new LiveText();
  #partsSaved: Promise<void> = Promise.resolve();
  #onOpenFailed: (error: unknown) => void;

  /** `steps` is the run's step list (written with the run row); `onOpenFailed` stops the run when the message cannot be created. */
  constructor(deps: RunDeps, job: RunJob, steps: RunStep[], onOpenFailed: (error: unknown) => void) {
    this.#deps = deps;
    this.#job = job;
    this.#steps = steps;
    this.#onOpenFailed = onOpenFailed;
  }

  get text(): string {
    return this.#live.text;
  }

  get messageId(): string | undefined {
    return this.message?.id;
  }

  open(): Promise<void> {
    this.#opening ??= this.#open();
    return this.#opening;
  }

  async #open(): Promise<void> {
    try {
      await this.#job.started?.insert(this.#steps);
      this.message = this.#job.reopen ?? (await createReply(this.#deps, this.#job, 'streaming'));
    } catch (error) {
      this.#onOpenFailed(error);
      throw error;
    }
    const message = this.message;
    for (const step of this.#pendingSteps.splice(0)) await this.#publish({ type: 'run.step', ...this.#stepFrame(step) });
    this.#live.start({
      publish: (delta, offset) => {
        this.#publish({
          type: 'message.delta',
          conversationId: message.conversationId,
          messageId: message.id,
          delta,
          offset,
        }).catch(() => undefined);
      },
      save: (text) => this.#deps.partialContent.save(message.id, text),
      onSaveError: (error) => this.#deps.logger.warn({ err: error, messageId: message.id }, 'saving partial content failed'),
      coalesceMs: this.#deps.agentsConfig.deltaCoalesceMs,
      saveIntervalMs: this.#deps.agentsConfig.partialSaveIntervalMs,
    });
    this.parts.forEach((part, index) => this.#publishPart(index, part));
    if (this.parts.length > 0) this.#saveParts();
  }

  pushText(delta: string): void {
    this.#live.push(delta);
  }

  putPart(index: number, part: MessagePart): void {
    this.parts[index] = part;
    if (!this.#live.started) return;
    this.#publishPart(index, part);
    this.#saveParts();
  }

  publishStep(step: RunStep): void {
    if (!this.#live.started) {
      this.#pendingSteps.push(structuredClone(step));
      return;
    }
    this.#publish({ type: 'run.step', ...this.#stepFrame(step) }).catch(() => undefined);
  }

  /**
   * Writes the final state once (content, parts, status, error, usage), runs `beforeDone` (the run
   * row's final write, so a client seeing `message.done` reads the run ended), then publishes
   * `message.done`. Pending deltas go out and saves stop first. Returns the final message,
   * undefined when another writer (recovery) had already ended it.
   */
  async close(
    final: { status: 'complete' | 'failed' | 'cancelled' | 'interrupted'; error: string | null; usage: MessageUsage },
    beforeDone: () => Promise<unknown>,
  ): Promise<PublicMessage | undefined> {
    await this.#live.stop();
    await this.#partsSaved;
    const stored = await finishMessage(this.#deps.db, this.message!.id, {
      content: this.text,
      parts: this.parts,
      ...final,
    });
    await beforeDone();
    if (stored) await this.#publish({ type: 'message.done', message: stored });
    return stored;
  }

  #publishPart(index: number, part: MessagePart): void {
    const message = this.message!;
    this.#live.flush();
    this.#publish({
      type: 'message.delta',
      conversationId: message.conversationId,
      messageId: message.id,
      delta: '',
      partIndex: index,
      part,
    }).catch(() => undefined);
  }

  #saveParts(): void {
    const messageId = this.message!.id;
    const parts = [...this.parts];
    this.#partsSaved = this.#partsSaved
      .then(() =>
        this.#deps.db
          .update(messages)
          .set({ parts })
          .where(and(eq(messages.id, messageId), eq(messages.status, 'streaming'))),
      )
      .then(
        () => undefined,
        (error: unknown) => this.#deps.logger.warn({ err: error, messageId }, 'saving message parts failed'),
      );
  }

  #stepFrame(step: RunStep) {
    return { runId: this.#job.run.id, conversationId: this.#job.run.conversationId, step: structuredClone(step) };
  }

  async #publish(event: { type: string } & Record<string, unknown>): Promise<void> {
    try {
      await this.#deps.bus.publish(conversationTopic(this.#job.run.conversationId), event);
    } catch (error) {
      this.#deps.logger.warn({ err: error, runId: this.#job.run.id, type: event.type }, 'publishing a run event failed');
    }
  }
}

/**
 * Creates the agent's message with its runId: `streaming` for a run that starts, `cancelled` (with
 * `message.done`) for a run cancelled while queued. The run row stores the message id when it finishes.
 */
export async function createReply(deps: RunDeps, job: RunJob, status: 'streaming' | 'cancelled'): Promise<PublicMessage> {
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
  if (status === 'cancelled')
    await deps.bus.publish(conversationTopic(message.conversationId), { type: 'message.done', message });
  return message;
}
