import { userTopic, type EventBus } from '../bus/event-bus.ts';
import type { Executor } from '../db/database.ts';
import type { ReplyTarget } from '../runs/reply-target.ts';
import { finishAdvice, insertAdvice, publishAdvice, saveAdviceContent } from './advice.ts';

/** Who an advice run writes for and why. */
export interface AdviceRunInput {
  workspaceId: string;
  conversationId: string;
  userId: string;
  agentId: string;
  bindingId: string | null;
  triggerMessageId: string;
}

/**
 * A run's reply as a private suggestion: an `advice` row (never a message, so no seq), streamed
 * only on its owner's `user:` topic as `advice` → `advice.delta` … → `advice.done`, with the run's
 * `run.step` events on the same topic. `runId` is the run writing it.
 */
export function createAdviceTarget(deps: { db: Executor; bus: EventBus }, input: AdviceRunInput, runId: string): ReplyTarget {
  const topic = userTopic(input.userId);
  return {
    async open(status) {
      const item = await insertAdvice(deps, {
        ...input,
        runId,
        kind: 'suggestion',
        status: status === 'streaming' ? 'streaming' : 'cancelled',
      });
      return { id: item.id };
    },
    async publishDelta(adviceId, delta) {
      await deps.bus.publish(topic, { type: 'advice.delta', conversationId: input.conversationId, adviceId, delta });
    },
    async savePartial(adviceId, content) {
      await saveAdviceContent(deps.db, adviceId, content);
    },
    async finish(adviceId, final) {
      const status = final.status === 'complete' ? 'ready' : final.status;
      const item = await finishAdvice(deps.db, adviceId, { ...final, status });
      if (item) await publishAdvice(deps.bus, 'advice.done', item);
    },
    async publishStep(stepRunId, step) {
      await deps.bus.publish(topic, { type: 'run.step', runId: stepRunId, conversationId: input.conversationId, step });
    },
  };
}
