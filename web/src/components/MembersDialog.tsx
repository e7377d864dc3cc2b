import { useEffect, useState, type FormEvent } from 'react';
import type { InboxEntry, MemberType } from '../client/index.ts';
import { navigate } from '../state/router.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice, useAction } from './action.tsx';
import { Dialog } from './Dialog.tsx';

/**
 * A group's name (any member may change it; empty: named by its members) and its members, each
 * person and agent with their role: **Add** people and agents of the workspace not in it yet (any
 * member may); **Remove** others (the conversation's owner or a workspace owner/admin; the server
 * refuses anyone else); **Leave** for myself.
 */
export function MembersDialog({ conversation, onClose }: { conversation: InboxEntry; onClose: () => void }) {
  const store = useStore();
  const me = useChat((state) => state.me);
  const users = useChat((state) => state.users);
  const agents = useChat((state) => state.agents);
  const [chosen, setChosen] = useState<Array<{ type: MemberType; id: string }>>([]);
  const [title, setTitle] = useState(conversation.title ?? '');
  const { busy, error, run } = useAction();
  const mine = conversation.members.find((member) => member.id === me?.id);
  const mayRemoveOthers = mine?.role === 'owner' || me?.role === 'owner' || me?.role === 'admin';
  const memberIds = new Set(conversation.members.map((member) => member.id));
  const candidates = [
    ...users.filter((user) => !memberIds.has(user.id)).map((user) => ({ type: 'user' as const, ...user })),
    ...agents.filter((agent) => !memberIds.has(agent.id)).map((agent) => ({ type: 'agent' as const, ...agent })),
  ];

  useEffect(() => {
    void store.loadDirectory();
  }, [store]);

  async function rename(event: FormEvent) {
    event.preventDefault();
    await run(async () => store.takeConversation(await store.api.renameConversation(conversation.id, title.trim() || null)));
  }

  async function add() {
    if (await run(async () => store.takeConversation(await store.api.addMembers(conversation.id, chosen)))) setChosen([]);
  }

  async function remove(memberId: string) {
    if (memberId === me?.id) {
      if (await run(() => store.api.removeMember(conversation.id, memberId))) {
        onClose();
        navigate('/');
      }
      return;
    }
    await run(() => store.api.removeMember(conversation.id, memberId).then(() => store.reloadConversation(conversation.id)));
  }

  return (
    <Dialog title="Members" onClose={onClose}>
      <div className="stack">
        <form onSubmit={rename} className="inline-form" aria-label="Rename the group">
          <label>
            Group name
            <input
              value={title}
              onChange={(event) => setTitle(event.target.value)}
              maxLength={200}
              placeholder="Named by its members"
            />
          </label>
          <button type="submit" disabled={busy || title.trim() === (conversation.title ?? '')}>
            Rename
          </button>
        </form>
        <ul className="agent-list" aria-label="Members">
          {conversation.members.map((member) => (
            <li key={member.id}>
              <div>
                <strong>{member.displayName}</strong> <span className="muted">@{member.handle}</span>
                <p className="muted">
                  {member.type === 'agent' ? 'agent' : 'person'}
                  {member.role === 'owner' ? ' · owner' : ''}
                  {member.id === me?.id ? ' · you' : ''}
                </p>
              </div>
              <div className="row-actions">
                {member.id === me?.id ? (
                  <button type="button" className="small" disabled={busy} onClick={() => void remove(member.id)}>
                    Leave
                  </button>
                ) : (
                  mayRemoveOthers && (
                    <button
                      type="button"
                      className="small"
                      disabled={busy}
                      aria-label={`Remove ${member.displayName}`}
                      onClick={() => void remove(member.id)}
                    >
                      Remove
                    </button>
                  )
                )}
              </div>
            </li>
          ))}
        </ul>
        {candidates.length > 0 && (
          <fieldset>
            <legend>Add people and agents</legend>
            {candidates.map((candidate) => (
              <label key={candidate.id} className="checkbox">
                <input
                  type="checkbox"
                  checked={chosen.some((ref) => ref.id === candidate.id)}
                  onChange={(event) =>
                    setChosen((current) =>
                      event.target.checked
                        ? [...current, { type: candidate.type, id: candidate.id }]
                        : current.filter((ref) => ref.id !== candidate.id),
                    )
                  }
                />
                {candidate.displayName} <span className="muted">@{candidate.handle}</span>
                {candidate.type === 'agent' ? <span className="muted"> · agent</span> : null}
              </label>
            ))}
            <button type="button" className="primary" disabled={busy || chosen.length === 0} onClick={() => void add()}>
              Add to conversation
            </button>
          </fieldset>
        )}
        <ErrorNotice error={error} />
      </div>
    </Dialog>
  );
}
