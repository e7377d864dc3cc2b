import { useCallback, useState } from 'react';
import type { Memory } from '../client/index.ts';
import { formatTime } from '../format.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice, useReloadingAction } from './action.tsx';

/**
 * What agents with memory on remember about me (only I see it), newest first, each with the agent
 * and when it was saved, and **Forget** to delete it: a forgotten fact is never loaded into a run again.
 */
export function MemoryList() {
  const store = useStore();
  const agents = useChat((state) => state.agents);
  const [memories, setMemories] = useState<Memory[] | null>(null);
  const agentName = (id: string) => agents.find((agent) => agent.id === id)?.displayName ?? 'A deleted agent';

  const load = useCallback(async () => {
    setMemories((await store.api.listMemories()).items);
  }, [store]);
  const { error, change } = useReloadingAction(load);

  const forget = (memory: Memory) => change(() => store.api.forgetMemory(memory.id));

  return (
    <section className="stack" aria-labelledby="memory-heading">
      <h3 id="memory-heading">What agents remember about you</h3>
      {memories?.length === 0 && <p className="muted">Nothing yet. Agents with memory on save facts you tell them here.</p>}
      <ul className="agent-list" aria-label="Memories">
        {(memories ?? []).map((memory) => (
          <li key={memory.id}>
            <div>
              {memory.content}
              <p className="muted">
                {agentName(memory.agentId)} · {formatTime(memory.createdAt)}
              </p>
            </div>
            <div className="row-actions">
              <button
                type="button"
                className="small"
                onClick={() => void forget(memory)}
                aria-label={`Forget “${memory.content}”`}
              >
                Forget
              </button>
            </div>
          </li>
        ))}
      </ul>
      <ErrorNotice error={error} />
    </section>
  );
}
