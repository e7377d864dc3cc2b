import { useEffect, useState } from 'react';
import type { Agent } from '../client/index.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice, useAction } from './action.tsx';
import { AgentForm } from './AgentForm.tsx';
import { Dialog } from './Dialog.tsx';

type View = { kind: 'list' } | { kind: 'new' } | { kind: 'edit'; agent: Agent };

/**
 * The workspace's agents: each with its model and tool count, **Edit** (the agent form) and
 * **Delete** (asked twice); **New agent** opens an empty form. Opening it reloads the list. Only an agent's owner or an admin may
 * change it: the server refuses others, and the refusal is shown.
 */
export function AgentsDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const agents = useChat((state) => state.agents);
  const [view, setView] = useState<View>({ kind: 'list' });
  const [confirming, setConfirming] = useState<string | null>(null);
  const { error, run } = useAction();

  // Agents others created or changed since the page loaded its directory.
  useEffect(() => {
    void store.loadDirectory();
  }, [store]);

  async function remove(agent: Agent) {
    if (await run(() => store.api.deleteAgent(agent.id).then(() => store.loadDirectory()))) setConfirming(null);
  }

  if (view.kind !== 'list')
    return (
      <Dialog title={view.kind === 'new' ? 'New agent' : `Edit ${view.agent.displayName}`} onClose={onClose}>
        <button type="button" className="link back-link" onClick={() => setView({ kind: 'list' })}>
          ← All agents
        </button>
        <AgentForm agent={view.kind === 'edit' ? view.agent : undefined} onDone={() => setView({ kind: 'list' })} />
      </Dialog>
    );

  return (
    <Dialog title="Agents" onClose={onClose}>
      <div className="stack">
        <button type="button" className="primary" onClick={() => setView({ kind: 'new' })}>
          New agent
        </button>
        {agents.length === 0 && <p className="muted">No agents yet.</p>}
        <ul className="agent-list" aria-label="Agents">
          {agents.map((agent) => (
            <li key={agent.id}>
              <div>
                <strong>{agent.displayName}</strong> <span className="muted">@{agent.handle}</span>
                <p className="muted">
                  {agent.model ?? 'default model'}
                  {agent.tools.length > 0 && ` · ${agent.tools.length} ${agent.tools.length === 1 ? 'tool' : 'tools'}`}
                  {agent.knowledgeBaseIds.length > 0 && ` · knowledge`}
                  {agent.memoryEnabled && ' · memory'}
                  {agent.chain && ' · own chain'}
                </p>
              </div>
              <div className="row-actions">
                <button
                  type="button"
                  className="small"
                  onClick={() => setView({ kind: 'edit', agent })}
                  aria-label={`Edit ${agent.displayName}`}
                >
                  Edit
                </button>
                {confirming === agent.id ? (
                  <>
                    <button type="button" className="small danger" onClick={() => void remove(agent)}>
                      Delete @{agent.handle}
                    </button>
                    <button type="button" className="small" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </>
                ) : (
                  <button
                    type="button"
                    className="small"
                    onClick={() => setConfirming(agent.id)}
                    aria-label={`Delete ${agent.displayName}`}
                  >
                    Delete
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
        <ErrorNotice error={error} />
      </div>
    </Dialog>
  );
}
