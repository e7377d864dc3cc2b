import type { EventBus } from '../bus/event-bus.ts';
import type { AgentRow } from './agents.ts';

/** Internal bus topic (never forwarded to clients) on which a node announces an agent's edit or deletion. */
export const agentChangesTopic = 'agents:changes';

/**
 * Agent rows by id, so routing a message to the conversation's agents costs no query. An edit or
 * deletion on any node (announced on `agentChangesTopic` with `announceAgentChange`) drops the
 * row on every node; a read started before a drop cannot store its stale row afterwards.
 */
export class AgentRowCache {
  #rows = new Map<string, AgentRow>();
  #generation = 0;
  #stopListening: () => void;

  constructor(bus: EventBus) {
    this.#stopListening = bus.subscribe(agentChangesTopic, (event) => {
      if (event.type === 'agent.changed' && typeof event.agentId === 'string') this.drop(event.agentId);
    });
  }

  /** The rows of `agentIds` in that order, or undefined when any is not cached. */
  get(agentIds: readonly string[]): AgentRow[] | undefined {
    const rows: AgentRow[] = [];
    for (const id of agentIds) {
      const row = this.#rows.get(id);
      if (!row) return undefined;
      rows.push(row);
    }
    return rows;
  }

  /** Stamp to take before reading rows from the store; pass it to `store`. */
  get generation(): number {
    return this.#generation;
  }

  /** Caches rows read when `generation` was current; ignored if an agent changed since. */
  store(rows: readonly AgentRow[], generation: number): void {
    if (generation !== this.#generation) return;
    for (const row of rows) this.#rows.set(row.id, row);
  }

  drop(agentId: string): void {
    this.#generation++;
    this.#rows.delete(agentId);
  }

  close(): void {
    this.#stopListening();
  }
}

/** Tells every node (this one included) that `agentId` was edited or deleted. */
export async function announceAgentChange(bus: EventBus, agentId: string): Promise<void> {
  await bus.publish(agentChangesTopic, { type: 'agent.changed', agentId });
}
