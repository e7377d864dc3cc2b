import { and, eq } from 'drizzle-orm';
import { conversationTopic } from '../bus/event-bus.ts';
import type { RunStep } from '../chain/run-step.ts';
import { messages, runs } from '../db/schema.ts';
import { toPublicMessage, type MessagePart, type PublicMessage } from '../messages/message-shape.ts';
import { publishUpdated, stampChange } from '../messaging/message-changes.ts';
import type { RunDeps, RunJob } from './run-agent.ts';
import { finishMessage, finishRunRow, findStreamingReplyId, type RunRow } from './run-store.ts';

/** Steps whose effects outlive the run: running them twice could act twice. */
const sideEffectSteps = new Set<RunStep['type']>(['use_tool', 'call_agent', 'call_human', 'memory_store']);

const notRetriedError =
  'The worker writing this reply stopped after a tool had run, so it was not restarted (it could act twice). Ask again to retry.';

/**
 * A run left `running` by a node that died mid-run (distributed mode: found by the node that took
 * over its mailbox). When no step with lasting effects had run (no tool call, no other agent or
 * person asked, no memory stored, not a resumed run), the run restarts from the beginning into
 * the same reply message: its content and parts are reset to empty (`message.updated`, so viewers
 * drop the text so far; the new deltas start again at offset 0) and the run is queued again;
 * returns the run to execute. Otherwise the reply ends `interrupted` with a readable error and
 * `message.done`, the run `interrupted`, and it returns undefined. See docs/decisions/0018.
 */
export async function restartOrphanedRun(
  deps: RunDeps,
  row: RunRow,
  load: (row: RunRow) => Promise<RunJob>,
): Promise<RunJob | undefined> {
  const messageId = await findStreamingReplyId(deps.db, row);
  const [messageRow] = messageId ? await deps.db.select().from(messages).where(eq(messages.id, messageId)) : [];
  const steps = row.steps as RunStep[];
  const parts = (messageRow?.parts ?? []) as MessagePart[];
  const unsafe =
    row.resumeState !== null ||
    steps.some((step) => sideEffectSteps.has(step.type)) ||
    parts.some((part) => part.type === 'tool-call');
  if (unsafe) {
    const stored = messageRow
      ? await finishMessage(deps.db, messageRow.id, {
          content: messageRow.content,
          parts,
          status: 'interrupted',
          error: notRetriedError,
          usage: null,
        })
      : undefined;
    await finishRunRow(deps.db, row.id, {
      status: 'interrupted',
      error: notRetriedError,
      ...(messageRow ? { messageId: messageRow.id } : {}),
    });
    if (stored) await deps.bus.publish(conversationTopic(stored.conversationId), { type: 'message.done', message: stored });
    deps.logger.warn({ runId: row.id }, 'a run whose worker died after a tool call ended interrupted');
    return undefined;
  }
  const [requeued] = await deps.db
    .update(runs)
    .set({ status: 'queued', steps: [], startedAt: null })
    .where(and(eq(runs.id, row.id), eq(runs.status, 'running')))
    .returning();
  if (!requeued) return undefined; // ended meanwhile (cancelled)
  let reopen: PublicMessage | undefined;
  if (messageRow) {
    const reset = await deps.db.transaction((tx) => stampChange(tx, messageRow, { content: '', parts: [] }));
    if (reset.status === 'streaming') {
      reopen = toPublicMessage(reset);
      await publishUpdated(deps.bus, reopen);
    }
  }
  deps.logger.warn({ runId: row.id, messageId: reopen?.id }, 'a run whose worker died restarts');
  return { ...(await load(requeued)), ...(reopen ? { reopen } : {}) };
}
