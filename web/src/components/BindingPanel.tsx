import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Binding, BindingOptions, BindingPause } from '../client/index.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice } from './action.tsx';
import { Dialog } from './Dialog.tsx';

/**
 * My assistants in one conversation: bind a workspace agent to answer for me (autoreply) or to
 * advise me privately (advice), change or remove it, pause all my bindings at once, ask for advice
 * now. Only I see my bindings.
 */
export function BindingPanel({ conversationId, onClose }: { conversationId: string; onClose: () => void }) {
  const store = useStore();
  const me = useChat((state) => state.me);
  const [bindings, setBindings] = useState<Binding[] | null>(null);
  const [pause, setPause] = useState<BindingPause | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setBindings((await store.api.listBindings(conversationId)).items);
      if (me) setPause(await store.api.getBindingsPause(me.id));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Could not load your assistants');
    }
  }, [store, conversationId, me]);
  useEffect(() => void reload(), [reload]);

  async function act(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      await reload();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Something went wrong');
    }
  }

  const modesTaken = new Set(bindings?.map((binding) => binding.mode));
  const advising = bindings?.some((binding) => binding.mode === 'advice' && binding.enabled);
  return (
    <Dialog title="My assistants here" onClose={onClose}>
      <div className="stack binding-panel">
        <p className="muted">
          Autoreply answers others for you, shown as your assistant. Advice suggests privately what to answer. Only you see these
          settings.
        </p>
        {pause && me && (
          <button
            type="button"
            className={pause.paused ? 'primary' : undefined}
            aria-pressed={pause.paused}
            onClick={() => void act(() => store.api.setBindingsPaused(me.id, !pause.paused))}
          >
            {pause.paused ? 'Resume all my assistants' : 'Pause all my assistants'}
          </button>
        )}
        {bindings?.map((binding) => (
          <BindingForm
            key={binding.id}
            binding={binding}
            onSave={(options) => act(() => store.api.updateBinding(conversationId, binding.id, options))}
            onDelete={() => act(() => store.api.deleteBinding(conversationId, binding.id))}
          />
        ))}
        {bindings && modesTaken.size < 2 && (
          <BindingForm
            key={[...modesTaken].join()}
            takenModes={modesTaken}
            onCreate={(input) => act(() => store.api.createBinding(conversationId, input))}
          />
        )}
        {advising && (
          <button type="button" onClick={() => void act(() => store.advice.request(conversationId))}>
            Ask for advice now
          </button>
        )}
        <ErrorNotice error={error} />
      </div>
    </Dialog>
  );
}

type NewBinding = BindingOptions & { agentId: string; mode: Binding['mode'] };

/** One binding's settings (edit), or a new binding's (create, with agent and mode). */
function BindingForm(props: {
  binding?: Binding;
  takenModes?: Set<string>;
  onSave?: (options: BindingOptions) => Promise<void>;
  onDelete?: () => Promise<void>;
  onCreate?: (input: NewBinding) => Promise<void>;
}) {
  const { binding } = props;
  const agents = useChat((state) => state.agents);
  const freeMode = (['autoreply', 'advice'] as const).find((mode) => !props.takenModes?.has(mode)) ?? 'autoreply';
  const [agentId, setAgentId] = useState(binding?.agentId ?? agents[0]?.id ?? '');
  const [mode, setMode] = useState<Binding['mode']>(binding?.mode ?? freeMode);
  const [enabled, setEnabled] = useState(binding?.enabled ?? true);
  const [onlyWhenAway, setOnlyWhenAway] = useState(binding?.onlyWhenAway ?? false);
  const [delaySeconds, setDelaySeconds] = useState(String(binding?.delaySeconds ?? 0));
  const [budget, setBudget] = useState(binding?.dailyMessageBudget === null ? '' : String(binding?.dailyMessageBudget ?? ''));
  const [instructions, setInstructions] = useState(binding?.instructions ?? '');
  const agent = agents.find((candidate) => candidate.id === (binding?.agentId ?? agentId));
  const title = binding
    ? `${binding.mode === 'autoreply' ? 'Autoreply' : 'Advice'} by ${agent?.displayName ?? 'an agent'}`
    : 'New assistant';

  function submit(event: FormEvent) {
    event.preventDefault();
    const options: BindingOptions = {
      enabled,
      onlyWhenAway,
      delaySeconds: Number(delaySeconds) || 0,
      dailyMessageBudget: budget.trim() === '' ? null : Number(budget),
      instructions,
    };
    if (binding) void props.onSave?.(options);
    else void props.onCreate?.({ ...options, agentId, mode });
  }

  return (
    <form className="binding-form stack" aria-label={title} onSubmit={submit}>
      <h3>{title}</h3>
      {!binding && (
        <>
          <label>
            Agent
            <select value={agentId} onChange={(event) => setAgentId(event.target.value)} required>
              {agents.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.displayName} (@{candidate.handle})
                </option>
              ))}
            </select>
          </label>
          <fieldset>
            <legend>Mode</legend>
            {(['autoreply', 'advice'] as const).map((option) => (
              <label key={option} className="inline">
                <input
                  type="radio"
                  name="binding-mode"
                  value={option}
                  checked={mode === option}
                  disabled={props.takenModes?.has(option)}
                  onChange={() => setMode(option)}
                />
                {option === 'autoreply' ? 'Autoreply (answers for me)' : 'Advice (suggests to me privately)'}
              </label>
            ))}
          </fieldset>
        </>
      )}
      {binding && (
        <label className="inline">
          <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} />
          Enabled
        </label>
      )}
      <label className="inline">
        <input type="checkbox" checked={onlyWhenAway} onChange={(event) => setOnlyWhenAway(event.target.checked)} />
        Only when I am away
      </label>
      <label>
        Wait before acting (seconds)
        <input type="number" min={0} max={86400} value={delaySeconds} onChange={(event) => setDelaySeconds(event.target.value)} />
      </label>
      <label>
        Daily message budget
        <input
          type="number"
          min={1}
          max={10000}
          value={budget}
          placeholder="no limit"
          onChange={(event) => setBudget(event.target.value)}
        />
      </label>
      <label>
        Instructions
        <textarea
          rows={3}
          value={instructions}
          placeholder="How to speak for me"
          onChange={(event) => setInstructions(event.target.value)}
        />
      </label>
      {binding && <p className="muted">Used today: {binding.usedToday}</p>}
      <div className="row">
        <button type="submit" className="primary">
          {binding ? 'Save' : 'Add assistant'}
        </button>
        {binding && (
          <button type="button" className="ghost" onClick={() => void props.onDelete?.()}>
            Remove
          </button>
        )}
      </div>
    </form>
  );
}
