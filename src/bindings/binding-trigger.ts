import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { getAgentRow } from '../agents/agents.ts';
import { conversationTopic, type EventBus } from '../bus/event-bus.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Db } from '../db/database.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import type { MessagePostedListener } from '../messages/messages.ts';
import type { RunService } from '../runs/run-service.ts';
import { getUser } from '../users/users.ts';
import type { BindingCache } from './binding-cache.ts';
import { spendBindingBudget } from './binding-budget.ts';
import { isPaused, type BindingRow } from './bindings.ts';
import { adviceOutputKind } from './advice-reply.ts';
import { bindingPerspective } from './perspective.ts';
import { bindings } from './schema.ts';

/** What the binding trigger needs. */
export interface BindingTriggerDeps {
  db: Db;
  bus: EventBus;
  runs: RunService;
  cache: BindingCache;
  logger: Logger;
}

interface PendingReply {
  timer: NodeJS.Timeout;
  unsubscribe: () => void;
}

/**
 * Reacts to every committed message with the conversation's bindings (SPEC §3 Binding). Only a
 * person's own message (sender type `user`) triggers bindings, never an agent's (autoreplies
 * included): at most one automatic hop per human message, so two people's autoreplies never loop.
 * A binding never answers its own person, nor a message older than itself. With `delaySeconds` the
 * reply waits on this node (a timer; a restart drops it, so nothing stale is ever answered late); a
 * newer message from another member restarts the wait and is answered instead, and the person
 * typing or posting in the conversation meanwhile (seen on the conversation's bus topic, from any
 * node) cancels it. When the reply is due: the binding must still be enabled, its person still a
 * member and not paused, away if `onlyWhenAway` (no live WebSocket on any node), and within the
 * daily budget; then the agent runs through the RunService (its own mailbox per person).
 */
export class BindingTrigger {
  readonly #deps: BindingTriggerDeps;
  readonly #pending = new Map<string, PendingReply>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(deps: BindingTriggerDeps) {
    this.#deps = deps;
  }

  /** The listener to add to `messagePosted`. */
  readonly listener: MessagePostedListener = (message) => {
    if (message.status !== 'complete' || message.sender.type !== 'user') return;
    // The common case, a conversation known to have no bindings, costs no promise.
    if (this.#deps.cache.peek(message.conversationId)?.length === 0) return;
    this.#track(this.#route(message), { messageId: message.id });
  };

  /**
   * Resolves once every message routed so far has been decided on: each binding skipped, waiting
   * (delayed) or its run requested. Delayed replies that fire later are tracked from then on.
   */
  async whenIdle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #track(work: Promise<void>, context: Record<string, string>): void {
    const tracked = work
      .catch((error: unknown) => this.#deps.logger.error({ err: error, ...context }, 'a binding failed to act'))
      .finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** Number of delayed replies waiting on this node. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Drops every delayed reply (shutdown). */
  close(): void {
    for (const pending of this.#pending.values()) this.#cancel(pending);
    this.#pending.clear();
  }

  async #route(message: PublicMessage): Promise<void> {
    const list = await this.#deps.cache.enabledIn(message.conversationId);
    const postedAt = new Date(message.createdAt).getTime();
    for (const binding of list) {
      if (binding.userId === message.sender.id || binding.createdAt.getTime() > postedAt) continue;
      if (binding.delaySeconds > 0) this.#schedule(binding, message);
      else await this.#fire(binding.id, message);
    }
  }

  #schedule(binding: BindingRow, trigger: PublicMessage): void {
    const existing = this.#pending.get(binding.id);
    if (existing) this.#cancel(existing);
    const pending: PendingReply = {
      timer: setTimeout(() => {
        this.#cancel(pending);
        this.#pending.delete(binding.id);
        this.#track(this.#fire(binding.id, trigger), { bindingId: binding.id });
      }, binding.delaySeconds * 1000),
      unsubscribe: this.#deps.bus.subscribe(conversationTopic(binding.conversationId), (event) => {
        const message = event.message as PublicMessage | undefined;
        const personActs =
          (event.type === 'typing' && event.userId === binding.userId) ||
          (event.type === 'message' && message?.sender.type === 'user' && message.sender.id === binding.userId);
        if (personActs && this.#pending.get(binding.id) === pending) {
          this.#cancel(pending);
          this.#pending.delete(binding.id);
        }
      }),
    };
    this.#pending.set(binding.id, pending);
  }

  #cancel(pending: PendingReply): void {
    clearTimeout(pending.timer);
    pending.unsubscribe();
  }

  /** Checks what may have changed since the message was posted, then starts the binding's run. */
  async #fire(bindingId: string, trigger: PublicMessage): Promise<void> {
    const { db, bus } = this.#deps;
    const [binding] = await db
      .select()
      .from(bindings)
      .where(and(eq(bindings.id, bindingId), eq(bindings.enabled, true)));
    if (!binding || (await isPaused(db, binding.userId))) return;
    try {
      await requireMembership(db, binding.workspaceId, binding.conversationId, binding.userId);
    } catch {
      return; // the person left the conversation
    }
    if (binding.onlyWhenAway && (await bus.filterOnline([binding.userId])).length > 0) return;
    const agent = await getAgentRow(db, binding.workspaceId, binding.agentId);
    if (!(await spendBindingBudget({ db, bus }, binding, agent.handle))) return;
    const person = await getUser(db, binding.workspaceId, binding.userId);
    const perspective = bindingPerspective({ agent, person, mode: binding.mode, instructions: binding.instructions });
    await this.#deps.runs.requestReply({
      agent,
      trigger,
      checkExisting: false,
      perspective,
      bindingId: binding.id,
      ...(binding.mode === 'autoreply' ? { onBehalfOf: binding.userId } : { output: adviceOutputKind }),
    });
  }
}
