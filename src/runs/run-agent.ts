import type { AgentRow } from '../agents/agents.ts';
import type { Config } from '../config/config.ts';
import { loadHistory, type ReplyPerspective } from '../chain/build-context.ts';
import type { ChainDeps } from '../chain/chain-context.ts';
import { newChainState } from '../chain/chain-context.ts';
import { runChain } from '../chain/chain-engine.ts';
import { budgetLimitsFor, RunBudget } from '../chain/run-budget.ts';
import type { ReplySink } from '../chain/reply-sink.ts';
import type { RunStep } from '../chain/run-step.ts';
import type { MessageUsage, PublicMessage } from '../messages/message-shape.ts';
import type { MessageDeps } from '../messages/messages.ts';
import { ConversationReply, createReply } from './conversation-reply.ts';
import type { PartialContentWriter } from './partial-content-writer.ts';
import {
  cancelledReplyRecorded,
  claimQueuedRun,
  finishRunRow,
  pauseRunRow,
  saveRunSteps,
  setCancelledReply,
  type RunRow,
} from './run-store.ts';
import { openHumanRequest } from '../chain/human-requests.ts';
import type { PendingApproval, PendingQuestion, ResumeState } from '../chain/run-pause.ts';

/** What a run needs from the app: storage, fan-out, models, tools and the agents' config. */
export interface RunDeps extends MessageDeps, ChainDeps {
  /** Batches the partial-content saves of every streaming reply. */
  partialContent: PartialContentWriter;
  agentsConfig: Config['agents'];
}

/** One reply to run: the run, the agent answering and the message it answers. */
export interface RunJob {
  run: Pick<RunRow, 'id' | 'workspaceId' | 'conversationId' | 'onBehalfOf'>;
  agent: AgentRow;
  trigger: PublicMessage;
  /**
   * Set when the run starts at once (its mailbox was idle): nothing to claim; `insert(steps)`
   * writes the run row `running` with its steps so far (once; rejects with the write's error) and
   * must precede the reply message; `abandon()` releases the requester when the run ends without writing it.
   */
  started?: { insert(steps: RunStep[]): Promise<void>; abandon(): void };
  /** The person the agent writes for (bindings): shapes the context, owns the memory and approvals. */
  perspective?: ReplyPerspective;
  /** Where the reply goes when it is not the agent's conversation message (bindings' private advice). */
  output?: RunOutput;
  /**
   * Set when the run restarts after its node died mid-run: its `streaming` reply message, already
   * reset to empty, which the run writes into again instead of creating one (orphaned-run.ts).
   */
  reopen?: PublicMessage;
  /** Set when a paused run continues: its steps so far, where to resume, and the person's answer. */
  resume?: {
    steps: RunStep[];
    state: ResumeState;
    approval?: { toolCallId: string; argsHash: string; decision: 'approve' | 'deny' };
    humanAnswer?: { text: string; userId: string; messageId: string };
  };
}

/**
 * How an executed run ended: its reply's final status (a run paused for a person ends this part
 * `complete`), and the conversation message as stored — undefined for other outputs (advice), or
 * when another writer had already ended it.
 */
export interface RunEnd {
  status: 'complete' | 'failed' | 'cancelled' | 'interrupted';
  message: PublicMessage | undefined;
}

/** A run's reply as the run drives it: the chain's `ReplySink`, and its close. */
export interface RunReply extends ReplySink {
  /** The conversation message written, once open (stored on the run row); undefined for other outputs. */
  readonly messageId: string | undefined;
  /**
   * Stores the final state once, runs `beforeDone` (the run row's final write), then announces the
   * end. Returns the final conversation message, undefined for other outputs or when another
   * writer (recovery) had already ended it.
   */
  close(
    final: { status: 'complete' | 'failed' | 'cancelled' | 'interrupted'; error: string | null; usage: MessageUsage },
    beforeDone: () => Promise<unknown>,
  ): Promise<PublicMessage | undefined>;
}

/**
 * Where a run's reply goes instead of the agent's conversation message (e.g. src/bindings/advice-reply.ts).
 * Built for one run by the `RunOutputRestorer` registered for its row's `output` kind, on whichever
 * node executes it.
 */
export interface RunOutput {
  /** The reply of a run that starts; `onOpenFailed` stops the run when the reply cannot be created. */
  start(job: RunJob, steps: RunStep[], onOpenFailed: (error: unknown) => void): RunReply;
  /** Records the reply of a run cancelled while queued, once (a run executed again records nothing more). */
  cancelled(job: RunJob): Promise<void>;
  /**
   * The run restarts after its node died mid-run (orphaned-run.ts): resets the reply written so
   * far to empty, telling its viewers, so that `start` writes into it again rather than a new one.
   */
  restart(runId: string): Promise<void>;
  /** The run's node died after a step with lasting effects: ends the reply written so far `interrupted` with `error`. */
  interrupt(runId: string, error: string): Promise<void>;
}

/** What a run output is rebuilt from: the stored run (any node can execute it). */
export type RunOutputSource = Pick<
  RunRow,
  'id' | 'workspaceId' | 'conversationId' | 'agentId' | 'triggerMessageId' | 'bindingId' | 'perspectiveUserId'
>;

/** Builds the output of one run from its row; registered per `runs.output` kind (`RunService.registerOutput`). */
export type RunOutputRestorer = (run: RunOutputSource) => RunOutput;

/** The reply message is created at most this long after its run starts (ms), request out or not. */
const replyOpenMaxDelayMs = 25;

/**
 * Executes one run: claims it (unless it started at once), runs the agent's action chain
 * (src/chain) into the reply, then closes the reply and the run. The reply message opens when the
 * first model request is out, when a step needs it, or 25 ms after the start, whichever comes
 * first, so the model request never queues behind database writes; what arrives before is held.
 * The message always ends in exactly one final status, even when `signal` aborts the run or a step
 * throws. Returns how the reply ended, or undefined when the run had already ended before it started
 * (cancelled while queued). Throws when the reply message cannot be created (the chain is aborted first).
 */
export async function executeRun(deps: RunDeps, job: RunJob, signal: AbortSignal): Promise<RunEnd | undefined> {
  const startedAt = performance.now();
  // The history ends at the trigger, so it loads while the run is claimed.
  const history = loadHistory(deps.db, job.trigger, job.agent.id);
  history.catch(() => undefined); // awaited (and reported) by the steps that read it
  const steps: RunStep[] = job.resume?.steps ?? [];
  if (!job.started && !(await claimQueuedRun(deps.db, job.run.id, steps))) {
    await (job.output ? job.output.cancelled(job) : recordCancelledReply(deps, job));
    return undefined;
  }
  const stopChain = new AbortController();
  const onOpenFailed = (error: unknown) => stopChain.abort(error);
  const reply: RunReply = job.output
    ? job.output.start(job, steps, onOpenFailed)
    : new ConversationReply(deps, job, steps, onOpenFailed);
  const state = newChainState();
  const openBy = setTimeout(() => void reply.open().catch(() => undefined), replyOpenMaxDelayMs);
  const outcome = await runChain({
    deps,
    agent: job.agent,
    workspaceId: job.run.workspaceId,
    runId: job.run.id,
    trigger: job.trigger,
    requesterId: job.perspective?.userId ?? (job.trigger.sender.type === 'user' ? job.trigger.sender.id : job.run.onBehalfOf),
    history,
    steps,
    reply,
    ...(job.perspective ? { perspective: job.perspective } : {}),
    signal: AbortSignal.any([signal, stopChain.signal]),
    budget: new RunBudget(budgetLimitsFor(deps.agentsConfig.budgets, job.agent.budgets)),
    callPath: [{ id: job.agent.id, handle: job.agent.handle }],
    execute: runChain,
    checkpoint: async () => {
      await reply.open();
      await saveRunSteps(deps.db, job.run.id, steps);
    },
    state,
    ...(job.resume ? { resume: job.resume.state, approval: job.resume.approval, humanAnswer: job.resume.humanAnswer } : {}),
  }).finally(() => clearTimeout(openBy));
  await reply.open(); // rethrows when the message could not be created
  const usage: MessageUsage = {
    ...(state.modelName ? { inputTokens: state.inputTokens, outputTokens: state.outputTokens, model: state.modelName } : {}),
    latencyMs: Math.round(performance.now() - startedAt),
  };
  if (outcome.status === 'waiting') return pause(deps, job, reply, steps, outcome.resume!, usage);
  const message = await reply.close({ status: outcome.status, error: outcome.error, usage }, () =>
    finishRunRow(deps.db, job.run.id, {
      status: outcome.status === 'complete' ? 'completed' : outcome.status,
      messageId: reply.messageId,
      steps,
      usage,
      error: outcome.error,
    }),
  );
  return { status: outcome.status, message };
}

/**
 * The `cancelled` reply of a run cancelled while queued, once: the run row keeps its message id,
 * so a run executed again (a shared queue re-submits at least once; executions of one mailbox
 * never overlap) records nothing more.
 */
async function recordCancelledReply(deps: RunDeps, job: RunJob): Promise<void> {
  if (await cancelledReplyRecorded(deps.db, job.run.id)) return;
  const message = await createReply(deps, job, 'cancelled');
  await setCancelledReply(deps.db, job.run.id, message.id);
}

/**
 * Pauses the run for a person: the reply so far ends `complete` (a tool-call part waiting is
 * `awaiting-approval`), the run row becomes `waiting` with its resume state, and the request is
 * posted to the person (`human.request`): the requester for an approval, the step's member for
 * `call_human`. An approval in a run no person requested cannot ask anyone, and a binding's run
 * (written on someone's behalf) cannot be resumed: those fail instead.
 */
async function pause(
  deps: RunDeps,
  job: RunJob,
  reply: RunReply,
  steps: RunStep[],
  resume: ResumeState,
  usage: MessageUsage,
): Promise<RunEnd> {
  const waitingFor: { approval: PendingApproval } | { question: PendingQuestion } = resume.approval
    ? { approval: resume.approval }
    : { question: resume.question! };
  const addressedTo =
    'question' in waitingFor
      ? waitingFor.question.addressedTo
      : job.trigger.sender.type === 'user'
        ? job.trigger.sender
        : undefined;
  // A binding's run acts for a person who did not ask for this step and may not be there: it fails rather than wait.
  if (job.perspective || !addressedTo) {
    const error = job.perspective
      ? `A run on someone's behalf cannot wait for a person (${resume.approval ? `approval of ${resume.approval.toolName}` : 'a question'})`
      : `${resume.approval?.toolName} needs a person's approval, and no person asked for this reply`;
    const message = await reply.close({ status: 'failed', error, usage }, () =>
      finishRunRow(deps.db, job.run.id, { status: 'failed', messageId: reply.messageId, steps, usage, error }),
    );
    return { status: 'failed', message };
  }
  const message = await reply.close({ status: 'complete', error: null, usage }, async () => {
    // Only a conversation reply pauses (not a binding's), so the message exists.
    await pauseRunRow(deps.db, job.run.id, { steps, resumeState: resume, messageId: reply.messageId!, usage });
    await openHumanRequest(deps, {
      workspaceId: job.run.workspaceId,
      conversationId: job.run.conversationId,
      runId: job.run.id,
      agent: job.agent,
      addressedTo,
      threadRootId: job.trigger.threadRootId,
      waitingFor,
      ttlMs: deps.agentsConfig.humanRequestTtlMs,
    });
  });
  return { status: 'complete', message };
}
