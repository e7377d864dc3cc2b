import { uuidv7 } from 'uuidv7';
import type { AgentRow } from '../agents/agents.ts';
import type { Principal } from '../auth/auth-service.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import { OrderedTasks } from './mailbox.ts';
import { MemoryRunQueue } from './run-queue.memory.ts';
import type { QueuedRun, RunExecutor, RunQueue } from './run-queue.ts';
import { restartOrphanedRun } from './orphaned-run.ts';
import { earlierTriggerInFlight } from './trigger-order.ts';
import { cancelElsewhere, onRelayedCancel } from './run-control.ts';
import { RunCancelled, ServerStopping, type RunStep } from '../chain/run-step.ts';
import {
  executeRun,
  type RunDeps,
  type RunJob,
  type RunOutput,
  type RunOutputRestorer,
  type RunOutputSource,
} from './run-agent.ts';
import type { ReplyPerspective } from '../chain/build-context.ts';
import {
  answerApproval,
  answerQuestionByReply,
  findExpiredRequests,
  findPendingRequests,
  settleRequest,
} from '../chain/human-requests.ts';
import {
  cancelQueuedRun,
  requeueWaitingRun,
  finishRunRow,
  findRunByTrigger,
  findStreamingReplyId,
  getRunForPrincipal,
  getRunRow,
  insertRun,
  loadRunJob,
  mailboxOf,
  toPublicRun,
  type NewRun,
  type RunRow,
} from './run-store.ts';
import type { PublicRun } from '../wire/run.ts';

/** A reply to request: which agent answers which message, and how deep in an agent-to-agent chain. */
export interface ReplyRequest {
  agent: AgentRow;
  trigger: PublicMessage;
  /** 0 when a person's message triggers it; +1 for each agent message in the chain. */
  depth?: number;
  /**
   * False when the caller is the first router of a just-committed message (the reply trigger),
   * so no run can exist yet and the lookup is skipped. Default true.
   */
  checkExisting?: boolean;
  /** The person the agent answers for (bindings): stored on the run and its reply message. */
  onBehalfOf?: string;
  /** The binding whose run this is, stored on the run. */
  bindingId?: string;
  /**
   * Whose side the context is written from (bindings): stored on the run as it is now (a later
   * change to the binding does not alter a requested run); their runs get their own mailbox.
   */
  perspective?: ReplyPerspective;
  /**
   * Where the reply goes instead of a conversation message: the kind of an output registered with
   * `registerOutput` (`advice`, src/bindings). Such a run is visible only to its perspective's person.
   */
  output?: string;
}

interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

/** How a RunService queues runs beyond this process, and what it reports. */
export interface RunServiceOptions {
  /**
   * Distributed mode: the shared run queue (run-queue.redis.ts) built around this service's
   * executor. Without it every run queues in this process (run-queue.memory.ts).
   */
  sharedQueue?: (execute: RunExecutor<RunJob>) => RunQueue<RunJob>;
  /** Called as each run executed here ends, with its reply's final status (`none` when it never started). */
  onRunEnded?: (status: string) => void;
}

/**
 * Runs agents' replies through a run queue (run-queue.ts): a mailbox per (conversation, agent) —
 * and per person for a binding's runs — runs its replies one at a time, in request order; other
 * mailboxes never wait on it. Embedded and single-node, the mailboxes are in this process;
 * distributed, every run (a conversation reply, a binding's autoreply or advice, a resumed run) is
 * a job any worker node takes, rebuilt there from its row (its output through the restorer its
 * feature registered with `registerOutput`). Runs survive their requester leaving; only `cancel`
 * and `stop` abort them. A cancel for a run executing on another node is relayed on the internal
 * `runs:control` bus topic.
 */
export class RunService {
  #deps: RunDeps;
  #ordered: OrderedTasks;
  /** Where runs queue: in-process mailboxes, or the shared queue in distributed mode. */
  #queue: RunQueue<RunJob>;
  /** How each `runs.output` kind's reply is rebuilt from a run row. */
  #outputs = new Map<string, RunOutputRestorer>();
  #onRunEnded: (status: string) => void;
  #active = new Map<string, ActiveRun>();
  #stopping = false;
  #stopListening: () => void;
  #expirySweep: NodeJS.Timeout;
  /** Called with each reply that completed, and its chain depth (agent-to-agent mentions). */
  onReplyCompleted: ((message: PublicMessage, depth: number) => void) | undefined;

  constructor(deps: RunDeps, options: RunServiceOptions = {}) {
    this.#deps = deps;
    const onError = (error: unknown) => deps.logger.error({ err: error }, 'agent run task failed');
    this.#ordered = new OrderedTasks(onError);
    const execute: RunExecutor<RunJob> = (run) => this.#executeQueued(run);
    this.#queue = options.sharedQueue?.(execute) ?? new MemoryRunQueue(execute, onError);
    this.#onRunEnded = options.onRunEnded ?? (() => {});
    this.#stopListening = onRelayedCancel(deps.bus, (runId) => void this.#abortActive(runId));
    const sweepEveryMs = Math.min(deps.agentsConfig.humanRequestTtlMs, 60_000);
    this.#expirySweep = setInterval(() => {
      this.expireRequests().catch((error: unknown) => deps.logger.error({ err: error }, 'expiring human requests failed'));
    }, sweepEveryMs);
    this.#expirySweep.unref();
  }

  /**
   * Registers how replies of the `kind` output are rebuilt from a run row (called once per kind
   * while the app is wired, on every node: a run may execute on any of them). Throws on a kind
   * registered twice.
   */
  registerOutput(kind: string, restore: RunOutputRestorer): void {
    if (this.#outputs.has(kind)) throw new Error(`run output ${kind} is already registered`);
    this.#outputs.set(kind, restore);
  }

  /** The output of a run whose row names one; undefined for a conversation reply. Throws for a kind never registered. */
  #outputOf(run: RunOutputSource & Pick<RunRow, 'output'>): RunOutput | undefined {
    if (run.output === null) return undefined;
    const restore = this.#outputs.get(run.output);
    if (!restore) throw new Error(`no run output ${run.output} is registered on this node`);
    return restore(run);
  }

  /**
   * Answers an approval request of a paused run the principal can see (404 otherwise), then resumes
   * the run in its mailbox (approved: the call runs; denied: the model is told). Throws forbidden
   * (not the addressed member) and conflict (answered before, expired, arguments changed). Returns
   * the run (`queued` or already further).
   */
  async answerApproval(
    principal: Principal,
    runId: string,
    requestId: string,
    answer: { decision: 'approve' | 'deny'; argsHash?: string },
  ): Promise<PublicRun> {
    await getRunForPrincipal(this.#deps.db, principal, runId);
    const request = await answerApproval(this.#deps, principal, runId, requestId, answer);
    await this.#resume(runId, {
      approval: { toolCallId: request.toolCallId!, argsHash: request.argsHash!, decision: answer.decision },
    });
    return this.getRun(principal, runId);
  }

  /**
   * Resumes the run whose `call_human` question `message` answers (a thread reply by the addressed
   * person). Returns whether it was such an answer (then no agent should reply to it as usual).
   */
  async resumeWithReply(message: PublicMessage): Promise<boolean> {
    const request = await answerQuestionByReply(this.#deps, message);
    if (!request) return false;
    await this.#resume(request.runId, {
      humanAnswer: { text: message.content, userId: message.sender.id, messageId: message.id },
    });
    return true;
  }

  /** Expires the approval requests whose time ran out and fails their runs with a readable error. */
  async expireRequests(): Promise<void> {
    for (const request of await findExpiredRequests(this.#deps.db)) {
      if (!(await settleRequest(this.#deps, request, 'expired'))) continue;
      await finishRunRow(this.#deps.db, request.runId, {
        status: 'failed',
        error:
          request.kind === 'approval'
            ? `The approval of ${request.toolName} expired unanswered`
            : `The question to a person expired unanswered: ${request.question}`,
      });
    }
  }

  /**
   * Puts a waiting run back in its mailbox with the person's answer (once; a run no longer waiting
   * is left alone). The answer is stored with the resume state, so any node can resume it.
   */
  async #resume(runId: string, answer: Pick<NonNullable<RunJob['resume']>, 'approval' | 'humanAnswer'>): Promise<void> {
    const row = await requeueWaitingRun(this.#deps.db, runId, answer);
    if (!row?.resumeState || !row.triggerMessageId) return;
    const job = await this.#jobFromRow(row);
    await this.#queue.submit(mailboxOf(row), { runId, order: job.trigger.seq, depth: row.depth, local: job });
  }

  /** The run to execute for `row` (see `loadRunJob`); `output` when the caller already rebuilt it. */
  #jobFromRow(row: RunRow, output = this.#outputOf(row)): Promise<RunJob> {
    return loadRunJob(this.#deps.db, row, output);
  }

  /** Number of runs executing in this process now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /**
   * Runs `task` after every task queued earlier for the same conversation, so replies are
   * requested in the order their trigger messages were posted.
   */
  inConversationOrder<T>(conversationId: string, task: () => Promise<T>): Promise<T> {
    return this.#ordered.run(conversationId, task);
  }

  /**
   * Queues a reply unless one already exists for (trigger, agent), and returns its run: `queued`,
   * or `running` when its mailbox was idle and it starts at once (resolved once the starting run
   * has written its row). Call inside `inConversationOrder` for the trigger's conversation: that
   * makes the check-then-insert race-free and keeps the mailbox in posting order.
   */
  async requestReplyInOrder(request: ReplyRequest): Promise<RunRow> {
    const { agent, trigger } = request;
    if (request.checkExisting !== false) {
      const existing = await findRunByTrigger(this.#deps.db, trigger.id, agent.id);
      if (existing) return existing;
    }
    const { perspective } = request;
    const input: NewRun = {
      id: uuidv7(),
      workspaceId: agent.workspaceId,
      conversationId: trigger.conversationId,
      agentId: agent.id,
      triggerMessageId: trigger.id,
      onBehalfOf: request.onBehalfOf ?? null,
      depth: request.depth ?? 0,
      bindingId: request.bindingId ?? null,
      perspectiveUserId: perspective?.userId ?? null,
      perspectiveSystem: perspective?.system ?? null,
      perspectiveClosingTurn: perspective?.closingTurn ?? null,
      output: request.output ?? null,
    };
    const output = this.#outputOf(input);
    const key = mailboxOf(input);
    const { depth } = input;
    const job = { agent, trigger, ...(perspective ? { perspective } : {}), ...(output ? { output } : {}) };
    if (this.#stopping || !this.#queue.startsAtOnce(key)) {
      const run = await insertRun(this.#deps.db, input);
      await this.#queue.submit(key, { runId: run.id, order: trigger.seq, depth, local: { ...job, run } });
      return run;
    }
    // The mailbox is idle, so the run starts now and is inserted `running` (no claim). The job
    // writes the row as it starts, beside its context read, rather than the requester waiting for it.
    const inserted = Promise.withResolvers<RunRow>();
    let insert: Promise<void> | undefined;
    const started = {
      insert: (steps: RunStep[]) =>
        (insert ??= insertRun(this.#deps.db, input, { steps }).then(inserted.resolve, (error: unknown) => {
          inserted.reject(error);
          throw error;
        })),
      abandon: () => {
        if (!insert) inserted.reject(new Error('the run ended before it was recorded'));
      },
    };
    const run = {
      id: input.id,
      workspaceId: input.workspaceId,
      conversationId: input.conversationId,
      onBehalfOf: input.onBehalfOf,
    };
    void this.#queue.submit(key, { runId: run.id, order: trigger.seq, depth, local: { ...job, run, started } });
    return inserted.promise;
  }

  /** `requestReplyInOrder` behind the conversation's earlier requests. */
  requestReply(request: ReplyRequest): Promise<RunRow> {
    return this.inConversationOrder(request.trigger.conversationId, () => this.requestReplyInOrder(request));
  }

  /** The run if the principal is a member of its conversation; not_found otherwise. */
  async getRun(principal: Principal, runId: string): Promise<PublicRun> {
    const row = await getRunForPrincipal(this.#deps.db, principal, runId);
    if (row.status === 'running' && !row.messageId) row.messageId = await findStreamingReplyId(this.#deps.db, row);
    return toPublicRun(row);
  }

  /**
   * Cancels a run the principal can see and resolves once it has its final status: a running one
   * is aborted upstream (partial text kept, message `cancelled`), a queued one never starts.
   * Cancelling twice, or after the natural end, changes nothing. Throws not_found.
   */
  async cancel(principal: Principal, runId: string): Promise<PublicRun> {
    const run = await getRunForPrincipal(this.#deps.db, principal, runId);
    if (!(await this.#abortActive(runId))) {
      const cancelledQueued = await cancelQueuedRun(this.#deps.db, runId);
      if (cancelledQueued) {
        for (const request of await findPendingRequests(this.#deps.db, [runId]))
          await settleRequest(this.#deps, request, 'cancelled');
      }
      if (!cancelledQueued && !(await this.#abortActive(runId))) await cancelElsewhere(this.#deps, run);
    }
    const row = await getRunRow(this.#deps.db, runId);
    return toPublicRun(row!);
  }

  /** Stops taking work and ends every active run `interrupted`; resolves when they are saved. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#queue.close();
    this.#stopListening();
    clearInterval(this.#expirySweep);
    const active = [...this.#active.values()];
    for (const run of active) run.controller.abort(new ServerStopping('server stopping'));
    await Promise.all(active.map((run) => run.done));
  }

  async #abortActive(runId: string): Promise<boolean> {
    const active = this.#active.get(runId);
    if (!active) return false;
    active.controller.abort(new RunCancelled('cancelled'));
    await active.done;
    return true;
  }

  /**
   * The queue's executor: a run handed over in-process, or one loaded from its row (shared queue).
   * A shared run whose trigger came after a message the agent must answer first, still being
   * routed on another node, is `deferred` (trigger-order.ts).
   */
  async #executeQueued(queued: QueuedRun<RunJob>): Promise<void | 'deferred'> {
    if (queued.local) return this.#execute(queued.local, queued.depth);
    const row = await getRunRow(this.#deps.db, queued.runId);
    if (!row) return;
    let job: RunJob | undefined;
    try {
      if (row.status === 'queued' || (row.status === 'cancelled' && !row.startedAt)) {
        // Cancelled while queued: executing it records its `cancelled` reply, as in-process.
        job = await this.#jobFromRow(row);
        // A binding's run has its own mailbox per person, which the agent's reply policy does not order.
        if (row.status === 'queued' && !job.resume && !job.perspective && (await this.#earlierTriggerInFlight(job)))
          return 'deferred';
      } else if (row.status === 'running') {
        // This node holds the mailbox, so nobody executes this run: its node died mid-run.
        const output = this.#outputOf(row);
        job = await restartOrphanedRun(this.#deps, row, output, (loaded) => this.#jobFromRow(loaded, output));
      }
    } catch (error) {
      this.#deps.logger.error({ err: error, runId: row.id }, 'loading a queued agent run failed');
      await finishRunRow(this.#deps.db, row.id, { status: 'failed', error: 'Internal error while loading the run' });
    }
    if (job) await this.#execute(job, queued.depth);
  }

  #earlierTriggerInFlight(job: RunJob): Promise<boolean> {
    return earlierTriggerInFlight(this.#deps.db, {
      conversationId: job.trigger.conversationId,
      agentId: job.agent.id,
      agentHandle: job.agent.handle,
      triggerSeq: job.trigger.seq,
    });
  }

  async #execute(job: RunJob, depth: number): Promise<void> {
    if (this.#stopping) {
      await finishRunRow(this.#deps.db, job.run.id, {
        status: 'interrupted',
        error: 'The server stopped before this run started',
      });
      return;
    }
    const controller = new AbortController();
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    this.#active.set(job.run.id, { controller, done });
    try {
      const end = await executeRun(this.#deps, job, controller.signal);
      this.#onRunEnded(end?.status ?? 'none');
      if (end?.message?.status === 'complete') this.onReplyCompleted?.(end.message, depth + 1);
    } catch (error) {
      // The reply could not even be opened (or closed): the run still gets a final status.
      this.#deps.logger.error({ err: error, runId: job.run.id }, 'agent run failed outside its steps');
      await finishRunRow(this.#deps.db, job.run.id, { status: 'failed', error: 'Internal error while running the agent' }).catch(
        () => undefined,
      );
    } finally {
      job.started?.abandon();
      this.#active.delete(job.run.id);
      markDone();
    }
  }
}
