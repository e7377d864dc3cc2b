import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { RunStep } from '../chain/run-step.ts';
import { userTopic, type EventBus } from '../bus/event-bus.ts';
import type { Executor } from '../db/database.ts';
import type { MessagePart, MessageUsage } from '../messages/message-shape.ts';
import { LiveText } from '../runs/delta-coalescer.ts';
import type { RunJob, RunOutput, RunOutputRestorer, RunReply } from '../runs/run-agent.ts';
import { findRunAdvice, finishAdvice, insertAdvice, publishAdvice, resetAdvice, saveAdviceContent } from './advice.ts';

/** Who an advice run writes for and why. */
export interface AdviceRunInput {
  workspaceId: string;
  conversationId: string;
  userId: string;
  agentId: string;
  bindingId: string | null;
  triggerMessageId: string;
}

/** What an advice reply needs: storage, fan-out, a logger, and the streaming settings. */
export interface AdviceDeps {
  db: Executor;
  bus: EventBus;
  logger: Logger;
  agentsConfig: Pick<Config['agents'], 'deltaCoalesceMs' | 'partialSaveIntervalMs'>;
}

/** The `runs.output` kind of advice runs. */
export const adviceOutputKind = 'advice';

/**
 * Rebuilds an advice run's output from its row, on any node (registered with
 * `RunService.registerOutput` as `advice`): the advice belongs to the run's perspective user.
 */
export function restoreAdviceOutput(deps: AdviceDeps): RunOutputRestorer {
  return (run) =>
    adviceOutput(deps, {
      workspaceId: run.workspaceId,
      conversationId: run.conversationId,
      userId: run.perspectiveUserId!,
      agentId: run.agentId,
      bindingId: run.bindingId,
      triggerMessageId: run.triggerMessageId!,
    });
}

/**
 * A run's output as a private suggestion: an `advice` row (never a message, so no seq), streamed
 * only on its owner's `user:` topic as `advice` → `advice.delta` … → `advice.done` (each delta with
 * its `offset` in the content, like `message.delta`), with the run's `run.step` frames on the same
 * topic. A run cancelled while queued leaves a `cancelled` advice (once). A run restarted after
 * its node died writes into its advice again: reset to empty and announced with an `advice` frame
 * whose newer `updatedAt` tells clients to drop the text so far; one ended `interrupted` after a
 * tool had run ends its advice the same way (`advice.done`).
 */
function adviceOutput(deps: AdviceDeps, input: AdviceRunInput): RunOutput {
  /** The advice a restarted run writes into again. */
  let reopened: string | undefined;
  return {
    start: (job, steps, onOpenFailed) => new AdviceReply(deps, input, job, steps, onOpenFailed, reopened),
    cancelled: async (job) => {
      if (await findRunAdvice(deps.db, job.run.id)) return;
      await insertAdvice(deps, { ...input, runId: job.run.id, kind: 'suggestion', status: 'cancelled' });
    },
    restart: async (runId) => {
      const item = await findRunAdvice(deps.db, runId);
      if (!item) return; // it had not opened yet: the run opens it as usual
      reopened = item.id;
      const reset = await resetAdvice(deps.db, item.id);
      if (reset?.status === 'streaming') await publishAdvice(deps.bus, 'advice', reset);
    },
    interrupt: async (runId, error) => {
      const item = await findRunAdvice(deps.db, runId);
      if (item?.status !== 'streaming') return;
      const ended = await finishAdvice(deps.db, item.id, { content: item.content, status: 'interrupted', error, usage: null });
      if (ended) await publishAdvice(deps.bus, 'advice.done', ended);
    },
  };
}

/**
 * The advice being written, as the run's `ReplySink`: `open()` writes the run row (when the run
 * started at once), then the advice row `streaming` (`advice` frame); text and steps that came
 * before are held and go out right after it. Text is coalesced (`advice.delta`) and saved
 * periodically. Parts (tool calls, citations) are kept for the run but advice stores only text.
 */
class AdviceReply implements RunReply {
  parts: MessagePart[] = [];
  readonly messageId = undefined;
  #deps: AdviceDeps;
  #input: AdviceRunInput;
  #job: RunJob;
  #steps: RunStep[];
  #onOpenFailed: (error: unknown) => void;
  #opening: Promise<void> | undefined;
  /** Set from the start when the run restarted into its existing advice. */
  #adviceId: string | undefined;
  #pendingSteps: RunStep[] = [];
  #live = new LiveText();

  constructor(
    deps: AdviceDeps,
    input: AdviceRunInput,
    job: RunJob,
    steps: RunStep[],
    onOpenFailed: (error: unknown) => void,
    reopenedId: string | undefined,
  ) {
    this.#adviceId = reopenedId;
    this.#deps = deps;
    this.#input = input;
    this.#job = job;
    this.#steps = steps;
    this.#onOpenFailed = onOpenFailed;
  }

  get text(): string {
    return this.#live.text;
  }

  open(): Promise<void> {
    this.#opening ??= this.#open();
    return this.#opening;
  }

  async #open(): Promise<void> {
    try {
      await this.#job.started?.insert(this.#steps);
      this.#adviceId ??= (
        await insertAdvice(this.#deps, {
          ...this.#input,
          runId: this.#job.run.id,
          kind: 'suggestion',
          status: 'streaming',
        })
      ).id;
    } catch (error) {
      this.#onOpenFailed(error);
      throw error;
    }
    const adviceId = this.#adviceId;
    for (const step of this.#pendingSteps.splice(0)) await this.#publish({ type: 'run.step', ...this.#stepFrame(step) });
    this.#live.start({
      publish: (delta, offset) =>
        void this.#publish({ type: 'advice.delta', conversationId: this.#input.conversationId, adviceId, delta, offset }),
      save: (text) => saveAdviceContent(this.#deps.db, adviceId, text),
      onSaveError: (error) => this.#deps.logger.warn({ err: error, adviceId }, 'saving advice content failed'),
      coalesceMs: this.#deps.agentsConfig.deltaCoalesceMs,
      saveIntervalMs: this.#deps.agentsConfig.partialSaveIntervalMs,
    });
  }

  pushText(delta: string): void {
    this.#live.push(delta);
  }

  putPart(index: number, part: MessagePart): void {
    this.parts[index] = part;
  }

  publishStep(step: RunStep): void {
    if (!this.#live.started) {
      this.#pendingSteps.push(structuredClone(step));
      return;
    }
    void this.#publish({ type: 'run.step', ...this.#stepFrame(step) });
  }

  /** Stores the final advice (`complete` becomes `ready`) after `beforeDone`, then publishes `advice.done`. */
  async close(
    final: { status: 'complete' | 'failed' | 'cancelled' | 'interrupted'; error: string | null; usage: MessageUsage },
    beforeDone: () => Promise<unknown>,
  ): Promise<undefined> {
    await this.#live.stop();
    await beforeDone();
    // Stored and announced last, like `message.done`: a client told the advice is done reads the run final.
    const status = final.status === 'complete' ? 'ready' : final.status;
    const item = await finishAdvice(this.#deps.db, this.#adviceId!, { ...final, content: this.text, status });
    if (item) await publishAdvice(this.#deps.bus, 'advice.done', item);
    return undefined;
  }

  #stepFrame(step: RunStep) {
    return { runId: this.#job.run.id, conversationId: this.#input.conversationId, step: structuredClone(step) };
  }

  async #publish(event: { type: string } & Record<string, unknown>): Promise<void> {
    try {
      await this.#deps.bus.publish(userTopic(this.#input.userId), event);
    } catch (error) {
      this.#deps.logger.warn({ err: error, runId: this.#job.run.id, type: event.type }, 'publishing an advice event failed');
    }
  }
}
