import { conversationTopic, type EventBus } from '../bus/event-bus.ts';
import type { Executor } from '../db/database.ts';
import { getRunRow, type RunRow } from './run-store.ts';

/** Internal bus topic (never forwarded to clients) on which nodes ask each other to cancel runs. */
const runControlTopic = 'runs:control';
/** How long a cancel waits for another node to end the run before answering with its current state. */
const remoteCancelWaitMs = 5_000;

/** Calls `abort(runId)` for every cancel another node relays (`cancelElsewhere`); returns the unsubscribe. */
export function onRelayedCancel(bus: EventBus, abort: (runId: string) => void): () => void {
  return bus.subscribe(runControlTopic, (event) => {
    if (event.type === 'run.cancel' && typeof event.runId === 'string') abort(event.runId);
  });
}

/**
 * Asks the node executing `run` to abort it (a `run.cancel` on the internal topic; that node's
 * `onRelayedCancel` aborts it), unless the run is no longer `running`. Resolves at the reply's
 * `message.done` on the conversation topic, or after 5 s, whichever comes first.
 */
export async function cancelElsewhere(deps: { db: Executor; bus: EventBus }, run: RunRow): Promise<void> {
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const unsubscribe = deps.bus.subscribe(conversationTopic(run.conversationId), (event) => {
    if (event.type === 'message.done' && (event.message as { runId?: string } | undefined)?.runId === run.id) finished();
  });
  const timer = setTimeout(finished, remoteCancelWaitMs);
  try {
    const current = await getRunRow(deps.db, run.id);
    if (current?.status !== 'running') return;
    await deps.bus.publish(runControlTopic, { type: 'run.cancel', runId: run.id });
    await done;
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}
