import { useChat } from '../state/store-context.tsx';
import { ApiKeys } from './ApiKeys.tsx';
import { Dialog } from './Dialog.tsx';
import { JobList } from './JobList.tsx';
import { MemoryList } from './MemoryList.tsx';

/** My own settings: what agents remember about me and my API keys; for owners and admins, the workspace's background jobs. */
export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const role = useChat((state) => state.me?.role);
  return (
    <Dialog title="Your settings" onClose={onClose}>
      <div className="stack">
        <MemoryList />
        <ApiKeys />
        {(role === 'owner' || role === 'admin') && <JobList />}
      </div>
    </Dialog>
  );
}
