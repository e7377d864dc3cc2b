import { useState, type FormEvent } from 'react';
import { useChat, useStore } from '../state/store-context.tsx';

type Mode = 'sign-in' | 'create' | 'join';

const titles: Record<Mode, string> = { 'sign-in': 'Sign in', create: 'Create a workspace', join: 'Join with an invite' };
const actions: Record<Mode, string> = { 'sign-in': 'Sign in', create: 'Create workspace', join: 'Join workspace' };

/** Sign in, create a workspace, or join one with an invite code (prefilled from ?invite=&workspace=). */
export function SignIn() {
  const store = useStore();
  const notice = useChat((state) => state.notice);
  const params = new URLSearchParams(window.location.search);
  const [mode, setMode] = useState<Mode>(params.get('invite') ? 'join' : 'sign-in');
  const [workspace, setWorkspace] = useState(params.get('workspace') ?? '');
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [inviteCode, setInviteCode] = useState(params.get('invite') ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'sign-in') await store.signIn({ workspace, handle, password });
      else
        await store.register({
          workspace,
          handle,
          password,
          displayName: displayName || undefined,
          inviteCode: mode === 'join' ? inviteCode : undefined,
        });
      if (window.location.search) window.history.replaceState(null, '', window.location.pathname);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Sign-in failed');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <form className="auth-card" onSubmit={submit}>
        <h1 className="brand">Chorus</h1>
        <h2 id="auth-title">{titles[mode]}</h2>
        {notice && mode === 'sign-in' && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label>
          Workspace
          <input
            name="workspace"
            value={workspace}
            onChange={(e) => setWorkspace(e.target.value)}
            autoComplete="organization"
            required
            autoFocus
          />
        </label>
        <label>
          Handle
          <input name="handle" value={handle} onChange={(e) => setHandle(e.target.value)} autoComplete="username" required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={mode === 'sign-in' ? 'current-password' : 'new-password'}
            minLength={mode === 'sign-in' ? undefined : 8}
            required
          />
        </label>
        {mode !== 'sign-in' && (
          <label>
            Display name <span className="hint">(optional)</span>
            <input name="displayName" value={displayName} onChange={(e) => setDisplayName(e.target.value)} autoComplete="name" />
          </label>
        )}
        {mode === 'join' && (
          <label>
            Invite code
            <input name="inviteCode" value={inviteCode} onChange={(e) => setInviteCode(e.target.value)} required />
          </label>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {actions[mode]}
        </button>
        <nav className="auth-modes" aria-label="Other ways in">
          {(Object.keys(titles) as Mode[])
            .filter((other) => other !== mode)
            .map((other) => (
              <button
                key={other}
                type="button"
                className="link"
                onClick={() => {
                  setMode(other);
                  setError(null);
                }}
              >
                {other === 'sign-in' ? 'I have an account' : titles[other]}
              </button>
            ))}
        </nav>
      </form>
    </main>
  );
}
