import { useEffect, useState, type FormEvent } from 'react';
import type { Agent, AgentInput, KnowledgeBase, McpServer, McpTool, ModelInfo } from '../client/index.ts';
import { errorText } from '../format.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice } from './action.tsx';
import { covers, setApproval, setTool, toolRef, type ToolChoice } from '../state/tool-refs.ts';

/** A server's tool catalogue as the form shows it: the tools, or why they could not be listed. */
type Catalogue = { tools: McpTool[] } | { error: string };

const numberOrNull = (text: string) => (text.trim() === '' ? null : Number(text));
const textOf = (value: number | null | undefined) => (value === null || value === undefined ? '' : String(value));

/**
 * Creates an agent (`agent` absent) or changes one: name, handle, model, system prompt,
 * temperature, output limit, memory, knowledge bases, MCP tools (each may need the requester's
 * approval), and under "Advanced" a declared action chain (JSON) and run budgets. The server
 * validates everything; its errors are shown with the field at fault. `onDone` runs after a save.
 */
export function AgentForm({ agent, onDone }: { agent?: Agent; onDone: () => void }) {
  const store = useStore();
  const agents = useChat((state) => state.agents);
  const [displayName, setDisplayName] = useState(agent?.displayName ?? '');
  const [handle, setHandle] = useState(agent?.handle ?? '');
  const [model, setModel] = useState(agent?.model ?? '');
  const [systemPrompt, setSystemPrompt] = useState(agent?.systemPrompt ?? '');
  const [temperature, setTemperature] = useState(textOf(agent?.temperature));
  const [maxOutputTokens, setMaxOutputTokens] = useState(textOf(agent?.maxOutputTokens));
  const [memoryEnabled, setMemoryEnabled] = useState(agent?.memoryEnabled ?? false);
  const [knowledgeBaseIds, setKnowledgeBaseIds] = useState<string[]>(agent?.knowledgeBaseIds ?? []);
  const [choice, setChoice] = useState<ToolChoice>({ tools: agent?.tools ?? [], approvals: agent?.toolApprovals ?? [] });
  const [chain, setChain] = useState(agent?.chain ? JSON.stringify(agent.chain, null, 2) : '');
  const [maxSteps, setMaxSteps] = useState(textOf(agent?.budgets?.maxSteps));
  const [maxToolCalls, setMaxToolCalls] = useState(textOf(agent?.budgets?.maxToolCalls));
  const [maxTokens, setMaxTokens] = useState(textOf(agent?.budgets?.maxTokens));
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [bases, setBases] = useState<KnowledgeBase[]>([]);
  const [servers, setServers] = useState<McpServer[]>([]);
  /** Names of every server of the workspace, disabled ones too; null until listed. */
  const [serverNames, setServerNames] = useState<string[] | null>(null);
  const [catalogues, setCatalogues] = useState<Record<string, Catalogue>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The server's default first, then the fallback and the models other agents use.
  const inUse = agents.map((candidate) => candidate.model).filter((name): name is string => !!name);
  const suggestions = [...new Set([...models.map((option) => option.id), ...inUse])];
  const defaultModel = models.find((option) => option.isDefault)?.id;
  // The agent's refs to a deleted server: the server refuses to save them, so they are listed to untick.
  const orphans =
    serverNames === null ? [] : (agent?.tools ?? []).filter((ref) => !serverNames.some((name) => ref.startsWith(`mcp:${name}/`)));

  useEffect(() => {
    let current = true;
    store.api.listModels().then(
      (items) => {
        if (!current) return;
        setModels(items);
        // A new agent starts on the server's default; an existing one without a model keeps "default".
        if (!agent) setModel((value) => value || items.find((item) => item.isDefault)?.id || items[0]?.id || '');
      },
      () => undefined,
    );
    store.api.listKnowledgeBases().then(
      (page) => current && setBases(page.items),
      () => undefined,
    );
    store.api.listMcpServers().then(
      (page) => {
        if (!current) return;
        const usable = page.items.filter((server) => server.enabled);
        setServers(usable);
        setServerNames(page.items.map((server) => server.name));
        for (const server of usable)
          store.api.listMcpTools(server.id).then(
            (tools) => current && setCatalogues((all) => ({ ...all, [server.id]: { tools } })),
            (caught: unknown) => current && setCatalogues((all) => ({ ...all, [server.id]: { error: errorText(caught) } })),
          );
      },
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [store, agent]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    let declaredChain: AgentInput['chain'] = null;
    if (chain.trim() !== '') {
      try {
        declaredChain = JSON.parse(chain) as AgentInput['chain'];
      } catch (caught) {
        setError(`Action chain: not valid JSON (${caught instanceof Error ? caught.message : String(caught)})`);
        return;
      }
    }
    const budgets = {
      maxSteps: numberOrNull(maxSteps),
      maxToolCalls: numberOrNull(maxToolCalls),
      maxTokens: numberOrNull(maxTokens),
    };
    const setBudgets = Object.fromEntries(Object.entries(budgets).filter(([, value]) => value !== null));
    const input: AgentInput = {
      displayName: displayName.trim(),
      handle: handle.trim(),
      systemPrompt,
      temperature: numberOrNull(temperature),
      maxOutputTokens: numberOrNull(maxOutputTokens),
      memoryEnabled,
      knowledgeBaseIds,
      tools: choice.tools,
      toolApprovals: choice.approvals,
      chain: declaredChain,
      budgets: Object.keys(setBudgets).length ? setBudgets : null,
    };
    const modelName = model.trim();
    setBusy(true);
    try {
      if (agent) await store.api.updateAgent(agent.id, { ...input, model: modelName || null });
      else
        await store.api.createAgent({
          ...input,
          handle: handle.trim(),
          displayName: displayName.trim(),
          ...(modelName ? { model: modelName } : {}),
        });
      await store.loadDirectory();
      onDone();
    } catch (caught) {
      setError(errorText(caught));
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="stack agent-form" aria-label={agent ? `Edit ${agent.displayName}` : 'New agent'}>
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
          pattern="[^/]+/.+"
          title="provider/model, e.g. openai/gpt-4o-mini; empty for the server's default"
          placeholder={defaultModel ? `${defaultModel} (the default)` : 'provider/model, e.g. openai/gpt-4o-mini'}
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
      <div className="field-row">
        <label>
          Temperature
          <input
            type="number"
            min={0}
            max={2}
            step={0.1}
            value={temperature}
            onChange={(event) => setTemperature(event.target.value)}
            placeholder="default"
          />
        </label>
        <label>
          Max output tokens
          <input
            type="number"
            min={1}
            step={1}
            value={maxOutputTokens}
            onChange={(event) => setMaxOutputTokens(event.target.value)}
            placeholder="default"
          />
        </label>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={memoryEnabled} onChange={(event) => setMemoryEnabled(event.target.checked)} />
        Remember facts about each person (memory)
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
      {(servers.length > 0 || orphans.length > 0) && (
        <fieldset className="tool-choice">
          <legend>Tools</legend>
          {servers.map((server) => (
            <ServerTools key={server.id} server={server} catalogue={catalogues[server.id]} choice={choice} onChange={setChoice} />
          ))}
          {orphans.map((ref) => (
            <label key={ref} className="checkbox">
              <input
                type="checkbox"
                checked={choice.tools.includes(ref)}
                onChange={(event) => setChoice(setTool(choice, ref, event.target.checked))}
              />
              <span>
                <span className="mono">{ref}</span>
                <span className="error-text tool-description">its MCP server is gone: untick to drop it</span>
              </span>
            </label>
          ))}
        </fieldset>
      )}
      <details className="advanced">
        <summary>Advanced: action chain and budgets</summary>
        <label>
          Action chain (JSON; empty for the default chain)
          <textarea
            value={chain}
            onChange={(event) => setChain(event.target.value)}
            rows={6}
            className="mono"
            placeholder='{"steps": [{"type": "memory_load"}, {"type": "rag"}, {"type": "generate"}, {"type": "memory_store"}]}'
          />
        </label>
        <div className="field-row">
          <label>
            Max steps
            <input
              type="number"
              min={1}
              value={maxSteps}
              onChange={(event) => setMaxSteps(event.target.value)}
              placeholder="default"
            />
          </label>
          <label>
            Max tool calls
            <input
              type="number"
              min={0}
              value={maxToolCalls}
              onChange={(event) => setMaxToolCalls(event.target.value)}
              placeholder="default"
            />
          </label>
          <label>
            Max tokens per run
            <input
              type="number"
              min={1}
              value={maxTokens}
              onChange={(event) => setMaxTokens(event.target.value)}
              placeholder="default"
            />
          </label>
        </div>
      </details>
      <ErrorNotice error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {agent ? 'Save agent' : 'Create agent'}
      </button>
    </form>
  );
}

/** One MCP server's tools: all of them, or some, each of which may need the requester's approval. */
function ServerTools({
  server,
  catalogue,
  choice,
  onChange,
}: {
  server: McpServer;
  catalogue: Catalogue | undefined;
  choice: ToolChoice;
  onChange: (choice: ToolChoice) => void;
}) {
  const all = toolRef(server.name, '*');
  const allChosen = choice.tools.includes(all);
  return (
    <div className="tool-server" role="group" aria-label={`Tools of ${server.name}`}>
      <p className="tool-server-name">{server.name}</p>
      <div className="tool-row">
        <label className="checkbox">
          <input type="checkbox" checked={allChosen} onChange={(event) => onChange(setTool(choice, all, event.target.checked))} />
          All tools of {server.name}
        </label>
        <label className="checkbox approval">
          <input
            type="checkbox"
            aria-label={`Every tool of ${server.name} needs approval`}
            checked={choice.approvals.includes(all)}
            disabled={!allChosen}
            onChange={(event) => onChange(setApproval(choice, all, event.target.checked))}
          />
          needs approval
        </label>
      </div>
      {catalogue === undefined && <p className="muted">Listing tools…</p>}
      {catalogue && 'error' in catalogue && <p className="error-text">Could not list its tools: {catalogue.error}</p>}
      {catalogue &&
        'tools' in catalogue &&
        catalogue.tools.map((tool) => {
          const ref = toolRef(server.name, tool.name);
          const chosen = covers(choice.tools, ref);
          return (
            <div key={tool.name} className="tool-row">
              <label className="checkbox">
                <input
                  type="checkbox"
                  aria-label={`Use ${tool.name}`}
                  checked={chosen}
                  disabled={allChosen}
                  onChange={(event) => onChange(setTool(choice, ref, event.target.checked))}
                />
                <span>
                  <span className="mono">{tool.name}</span>
                  {tool.description && <span className="muted tool-description">{tool.description}</span>}
                </span>
              </label>
              <label className="checkbox approval">
                <input
                  type="checkbox"
                  aria-label={`${tool.name} needs approval`}
                  checked={covers(choice.approvals, ref)}
                  disabled={!chosen || choice.approvals.includes(all)}
                  onChange={(event) => onChange(setApproval(choice, ref, event.target.checked))}
                />
                needs approval
              </label>
            </div>
          );
        })}
    </div>
  );
}
