import { useEffect, useState } from 'react';
import { useChat, useStore } from '../state/store-context.tsx';
import { Dialog } from './Dialog.tsx';

/** Creates an invite code (owners and admins) and shows it with a link that opens the join form. */
export function InviteDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const workspace = useChat((state) => state.workspace);
  const [code, setCode] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    store.api.createInvite().then(
      (invite) => setCode(invite.code),
      (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not create an invite'),
    );
  }, [store]);

  const link = code
    ? `${window.location.origin}/?${new URLSearchParams({ workspace: workspace?.slug ?? '', invite: code })}`
    : '';
  return (
    <Dialog title="Invite a colleague" onClose={onClose}>
      <div className="stack">
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {!code && !error && <p role="status">Creating an invite…</p>}
        {code && (
          <>
            <p>
              Share this code with your colleague: they join workspace <strong>{workspace?.slug}</strong> with it.
            </p>
            <label>
              Invite code
              <input readOnly value={code} className="mono" onFocus={(event) => event.currentTarget.select()} />
            </label>
            <label>
              Invite link
              <input readOnly value={link} className="mono" onFocus={(event) => event.currentTarget.select()} />
            </label>
            <button
              type="button"
              onClick={() =>
                void navigator.clipboard?.writeText(link).then(
                  () => setCopied(true),
                  () => undefined,
                )
              }
            >
              {copied ? 'Copied' : 'Copy link'}
            </button>
          </>
        )}
      </div>
    </Dialog>
  );
}
