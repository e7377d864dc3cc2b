import { and, eq } from 'drizzle-orm';
import type { EventBus } from '../bus/event-bus.ts';
import type { Executor } from '../db/database.ts';
import { bindings } from './schema.ts';

/** Internal bus topic (never forwarded to clients) on which a node announces a binding change. */
const bindingChangesTopic = 'bindings:changes';
/** Conversations cached at most; the whole cache is dropped past it (a cheap bound). */
const maxCachedConversations = 10_000;

type CachedBinding = typeof bindings.$inferSelect;

/**
 * The enabled bindings of each conversation, so a posted message in a conversation without
 * bindings costs no query. A change on any node (`announceBindingChange`) drops the conversation's
 * entry on every node; a read started before a drop cannot store its stale result afterwards.
 */
export class BindingCache {
  #byConversation = new Map<string, CachedBinding[]>();
  #generation = 0;
  #stopListening: () => void;
  #db: Executor;

  constructor(db: Executor, bus: EventBus) {
    this.#db = db;
    this.#stopListening = bus.subscribe(bindingChangesTopic, (event) => {
      if (event.type !== 'binding.changed' || typeof event.conversationId !== 'string') return;
      this.#generation++;
      this.#byConversation.delete(event.conversationId);
    });
  }

  /** The conversation's enabled bindings when cached (no query), else undefined. */
  peek(conversationId: string): readonly CachedBinding[] | undefined {
    return this.#byConversation.get(conversationId);
  }

  /** The conversation's enabled bindings (cached, else read from the store). */
  async enabledIn(conversationId: string): Promise<CachedBinding[]> {
    const cached = this.#byConversation.get(conversationId);
    if (cached) return cached;
    const generation = this.#generation;
    const rows = await this.#db
      .select()
      .from(bindings)
      .where(and(eq(bindings.conversationId, conversationId), eq(bindings.enabled, true)));
    if (generation === this.#generation) {
      if (this.#byConversation.size >= maxCachedConversations) this.#byConversation.clear();
      this.#byConversation.set(conversationId, rows);
    }
    return rows;
  }

  close(): void {
    this.#stopListening();
  }
}

/** Tells every node that the bindings of `conversationId` changed. */
export async function announceBindingChange(bus: EventBus, conversationId: string): Promise<void> {
  await bus.publish(bindingChangesTopic, { type: 'binding.changed', conversationId });
}
