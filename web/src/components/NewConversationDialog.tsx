import { useEffect, useState, type FormEvent } from 'react';
import { conversationPath, navigate } from '../state/router.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { Dialog } from './Dialog.tsx';

type Ref = { type: 'user' | 'agent'; id: string };

/** Start a direct conversation with one person or agent, or a group with chosen members. */
export function NewConversationDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const users = useChat((state) => state.users);
  const agents = useChat((state) => state.agents);
  const me = useChat((state) => state.me);
  const [kind, setKind] = useState<'direct' | 'group'>('direct');
  const [title, setTitle] = useState('');
  const [chosen, setChosen] = useState<Ref[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void store.loadDirectory();
  }, [store]);

  const people = [
    ...users
      .filter((user) => user.id !== me?.id)
      .map((user) => ({ ref: { type: 'user' as const, id: user.id }, handle: user.handle, name: user.displayName })),
    ...agents.map((agent) => ({ ref: { type: 'agent' as const, id: agent.id }, handle: agent.handle, name: agent.displayName })),
  ];
  const isChosen = (ref: Ref) => chosen.some((candidate) => candidate.id === ref.id);
  const toggle = (ref: Ref) =>
    setChosen(
      kind === 'direct' ? [ref] : isChosen(ref) ? chosen.filter((candidate) => candidate.id !== ref.id) : [...chosen, ref],
    );

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (chosen.length === 0) return setError(kind === 'direct' ? 'Choose someone to talk to.' : 'Choose at least one member.');
    setBusy(true);
    try {
      const conversation = await store.api.createConversation({
        kind,
        title: kind === 'group' && title.trim() ? title.trim() : undefined,
        members: chosen,
      });
      store.addConversation(conversation);
      onClose();
      navigate(conversationPath(conversation.id));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Could not create the conversation');
      setBusy(false);
    }
  }

  return (
    <Dialog title="New conversation" onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <fieldset className="segmented">
          <legend>Kind</legend>
          {(['direct', 'group'] as const).map((option) => (
            <label key={option}>
              <input
                type="radio"
                name="kind"
                value={option}
                checked={kind === option}
                onChange={() => {
                  setKind(option);
                  setChosen(chosen.slice(0, option === 'direct' ? 1 : undefined));
                }}
              />
              {option === 'direct' ? 'Direct' : 'Group'}
            </label>
          ))}
        </fieldset>
        {kind === 'group' && (
          <label>
            Title
            <input value={title} onChange={(event) => setTitle(event.target.value)} placeholder="e.g. Launch planning" />
          </label>
        )}
        <fieldset className="picker">
          <legend>{kind === 'direct' ? 'With' : 'Members'}</legend>
          {people.length === 0 && <p className="muted">Nobody else here yet: invite a colleague or create an agent.</p>}
          {people.map((person) => (
            <label key={person.ref.id} className="pick">
              <input
                type={kind === 'direct' ? 'radio' : 'checkbox'}
                name="member"
                checked={isChosen(person.ref)}
                onChange={() => toggle(person.ref)}
              />
              <span>
                {person.name}{' '}
                <span className="muted">
                  @{person.handle}
                  {person.ref.type === 'agent' ? ' · agent' : ''}
                </span>
              </span>
            </label>
          ))}
        </fieldset>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {kind === 'direct' ? 'Start conversation' : 'Create group'}
        </button>
      </form>
    </Dialog>
  );
}
