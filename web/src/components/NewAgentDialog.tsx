import { useEffect, useState, type FormEvent } from 'react';
import type { KnowledgeBase, ModelInfo } from '../client/index.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { Dialog } from './Dialog.tsx';

/** Create an agent: name, handle, a model from the configured ones, and a system prompt. */
export function NewAgentDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const [displayName, setDisplayName] = useState('');
  const [handle, setHandle] = useState('');
  const [model, setModel] = useState('');
  const [systemPrompt, setSystemPrompt] = useState('');
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [bases, setBases] = useState<KnowledgeBase[]>([]);
  const [knowledgeBaseIds, setKnowledgeBaseIds] = useState<string[]>([]);
  const agents = useChat((state) => state.agents);
  // The server's default first, then the fallback and the models other agents use.
  const inUse = agents.map((agent) => agent.model).filter((name): name is string => !!name);
  const suggestions = [...new Set([...models.map((option) => option.id), ...inUse])];
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    store.api.listModels().then(
      (items) => {
        setModels(items);
        setModel((current) => current || items.find((item) => item.isDefault)?.id || items[0]?.id || '');
      },
      () => undefined,
    );
    store.api.listKnowledgeBases().then(
      (page) => setBases(page.items),
      () => undefined,
    );
  }, [store]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await store.api.createAgent({
        displayName: displayName.trim(),
        handle: handle.trim(),
        model: model.trim(),
        systemPrompt,
        knowledgeBaseIds,
      });
      await store.loadDirectory();
      onClose();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Could not create the agent');
      setBusy(false);
    }
  }

  return (
    <Dialog title="New agent" onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <label>
          Name
          <input
            value={displayName}
            onChange={(event) => setDisplayName(event.target.value)}
            required
            placeholder="Research assistant"
          />
        </label>
        <label>
          Handle
          <input
            value={handle}
            onChange={(event) => setHandle(event.target.value)}
            required
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
            placeholder="researcher"
          />
        </label>
        <label>
          Model
          <input
            value={model}
            onChange={(event) => setModel(event.target.value)}
            list="agent-models"
            required
            pattern="[^/]+/.+"
            title="provider/model, e.g. openai/gpt-4o-mini"
            placeholder="provider/model, e.g. openai/gpt-4o-mini"
          />
          <datalist id="agent-models">
            {suggestions.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </label>
        <label>
          System prompt
          <textarea
            value={systemPrompt}
            onChange={(event) => setSystemPrompt(event.target.value)}
            rows={5}
            placeholder="You are a helpful assistant."
          />
        </label>
        {bases.length > 0 && (
          <fieldset>
            <legend>Knowledge bases</legend>
            {bases.map((base) => (
              <label key={base.id} className="checkbox">
                <input
                  type="checkbox"
                  checked={knowledgeBaseIds.includes(base.id)}
                  onChange={(event) =>
                    setKnowledgeBaseIds((current) =>
                      event.target.checked ? [...current, base.id] : current.filter((id) => id !== base.id),
                    )
                  }
                />
                {base.name}
              </label>
            ))}
          </fieldset>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Create agent
        </button>
      </form>
    </Dialog>
  );
}
