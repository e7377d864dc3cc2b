import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../format.ts';

/**
 * A dialog's changes, one at a time: `run(action)` marks it busy, clears the last error, runs the
 * action and shows its failure (`errorText`: the server's message and the fields at fault).
 * Resolves whether the action succeeded.
 */
export function useAction(): {
  busy: boolean;
  error: string | null;
  setError: (error: string | null) => void;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(errorText(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/**
 * `useAction` for a dialog showing a list: runs `load` when mounted (and whenever `load` changes),
 * and `change(action)` runs the action, then `load` again. Pass `load` from `useCallback`.
 */
export function useReloadingAction(load: () => Promise<void>): ReturnType<typeof useAction> & {
  change: (action: () => Promise<unknown>) => Promise<boolean>;
} {
  const action = useAction();
  const { run } = action;
  useEffect(() => {
    void run(load);
  }, [run, load]);
  const change = useCallback(
    (act: () => Promise<unknown>) =>
      run(async () => {
        await act();
        await load();
      }),
    [run, load],
  );
  return { ...action, change };
}

/** The error line of a form or dialog, announced (`role="alert"`); nothing without an error. */
export function ErrorNotice({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}
