import { useCallback, useState, type FormEvent } from 'react';
import type { ApiKey } from '../client/index.ts';
import { formatTime } from '../format.ts';
import { useStore } from '../state/store-context.tsx';
import { ErrorNotice, useReloadingAction } from './action.tsx';

/**
 * My API keys, for bots and scripts that act as me over the HTTP API, WebSocket or `/v1`: each
 * with its prefix, when it was made and last used, and **Revoke** (asked twice). **Create key**
 * shows the new key once, with **Copy**; it is never shown again.
 */
export function ApiKeys() {
  const store = useStore();
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

  const load = useCallback(async () => {
    setKeys((await store.api.listApiKeys()).items);
  }, [store]);
  const { error, change: run } = useReloadingAction(load);

  async function create(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      const key = await store.api.createApiKey(name.trim());
      setCreated({ name: key.name, key: key.key });
      setName('');
    });
  }

  return (
    <section className="stack" aria-labelledby="api-keys-heading">
      <h3 id="api-keys-heading">API keys</h3>
      <p className="muted">
        A key acts as you: scripts and bots send it as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      {created && (
        <div className="notice new-key" role="status">
          <label>
            Your new key “{created.name}” (shown only now)
            <input readOnly value={created.key} className="mono" onFocus={(event) => event.currentTarget.select()} />
          </label>
          <div className="row-actions">
            <button type="button" className="small" onClick={() => void navigator.clipboard?.writeText(created.key)}>
              Copy
            </button>
            <button type="button" className="small" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      {keys.length > 0 && (
        <ul className="agent-list" aria-label="API keys">
          {keys.map((key) => (
            <li key={key.id} aria-label={key.name}>
              <div>
                <strong>{key.name}</strong> <span className="mono muted">{key.prefix}…</span>
                <p className="muted">
                  made {formatTime(key.createdAt)} · {key.lastUsedAt ? `last used ${formatTime(key.lastUsedAt)}` : 'never used'}
                </p>
              </div>
              <div className="row-actions">
                {confirming === key.id ? (
                  <>
                    <button type="button" className="small danger" onClick={() => void run(() => store.api.revokeApiKey(key.id))}>
                      Revoke {key.name}
                    </button>
                    <button type="button" className="small" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </>
                ) : (
                  <button type="button" className="small" onClick={() => setConfirming(key.id)}>
                    Revoke
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={create} className="inline-form">
        <label>
          New key name
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            required
            maxLength={80}
            placeholder="deploy bot"
          />
        </label>
        <button type="submit">Create key</button>
      </form>
      <ErrorNotice error={error} />
    </section>
  );
}
