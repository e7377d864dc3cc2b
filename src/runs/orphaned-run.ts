import { and, eq } from 'drizzle-orm';
import { conversationTopic } from '../bus/event-bus.ts';
import type { RunStep } from '../chain/run-step.ts';
import { messages, runs } from '../db/schema.ts';
import { toPublicMessage, type MessagePart, type PublicMessage } from '../messages/message-shape.ts';
import { publishUpdated, stampChange } from '../messaging/message-changes.ts';
import type { RunDeps, RunJob, RunOutput } from './run-agent.ts';
import { finishMessage, finishRunRow, findStreamingReplyId, type RunRow } from './run-store.ts';

/** Steps whose effects outlive the run: running them twice could act twice. */
const sideEffectSteps = new Set<RunStep['type']>(['use_tool', 'call_agent', 'call_human', 'memory_store']);

/**
 * A `generate` step whose model asked for tools: the step is saved (checkpoint) before the calls
 * run, so this is seen even where the reply keeps no tool-call parts (advice).
 */
function askedForTools(step: RunStep): boolean {
  if (step.type !== 'generate' || !step.output) return false;
  return step.output.finishReason === 'tool-calls' || Number(step.output.toolCalls ?? 0) > 0;
}

const notRetriedError =
  'The worker writing this reply stopped after a tool had run, so it was not restarted (it could act twice). Ask again to retry.';

/**
 * A run left `running` by a node that died mid-run (distributed mode: found by the node that took
 * over its mailbox). When no step with lasting effects had run (no tool call, no other agent or
 * person asked, no memory stored, not a resumed run), the run restarts from the beginning into
 * the same reply: a conversation message has its content and parts reset to empty
 * (`message.updated`, so viewers drop the text so far; the new deltas start again at offset 0),
 * another `output` (advice) resets its own reply (`RunOutput.restart`), and the run is queued
 * again; returns the run to execute (`load`ed from the requeued row). Otherwise the reply ends
 * `interrupted` with a readable error (`message.done`, or the output's own frame), the run
 * `interrupted`, and it returns undefined. See docs/decisions/0018.
 */
export async function restartOrphanedRun(
  deps: RunDeps,
  row: RunRow,
  output: RunOutput | undefined,
  load: (row: RunRow) => Promise<RunJob>,
): Promise<RunJob | undefined> {
  const messageId = output ? null : await findStreamingReplyId(deps.db, row);
  const [messageRow] = messageId ? await deps.db.select().from(messages).where(eq(messages.id, messageId)) : [];
  const steps = row.steps as RunStep[];
  const parts = (messageRow?.parts ?? []) as MessagePart[];
  const unsafe =
    row.resumeState !== null ||
    steps.some((step) => sideEffectSteps.has(step.type) || askedForTools(step)) ||
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
    // Announced last, like `message.done`: a client told the reply ended reads the run final.
    await output?.interrupt(row.id, notRetriedError);
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
  await output?.restart(row.id);
  deps.logger.warn({ runId: row.id, messageId: reopen?.id }, 'a run whose worker died restarts');
  return { ...(await load(requeued)), ...(reopen ? { reopen } : {}) };
}
